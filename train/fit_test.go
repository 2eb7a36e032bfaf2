package train

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/modeldir"
)

func TestFitEpochsForFillsTheBudgetAndNoMore(t *testing.T) {
	for _, c := range []struct {
		budget, elapsed, perStep time.Duration
		done, spe                int
	}{
		{20 * time.Minute, 10 * time.Second, 250 * time.Millisecond, 11, 234},
		{20 * time.Minute, 30 * time.Second, 900 * time.Millisecond, 60, 234},
		{time.Hour, time.Second, 40 * time.Millisecond, 20, 1000},
	} {
		e := FitEpochsFor(c.budget, c.elapsed, c.perStep, c.done, c.spe, 0.5)
		usable := c.budget.Seconds() * (1 - fitReserve)
		end := func(epochs int) float64 {
			return c.elapsed.Seconds() + float64(epochs*c.spe-c.done)*c.perStep.Seconds()
		}
		if end(e) > usable || end(e+1) <= usable {
			t.Errorf("%+v: %d epochs end at %.0f s, %d at %.0f s; the usable budget is %.0f s", c, e, end(e), e+1, end(e+1), usable)
		}
	}
	if e := FitEpochsFor(time.Minute, 2*time.Minute, time.Second, 5, 100, 0.5); e != 1 {
		t.Errorf("no time left: %d epochs, want 1", e)
	}
	if e := FitEpochsFor(time.Minute, 0, 10*time.Second, 5, 10, 3); e != 3 {
		t.Errorf("a 3-epoch warm-up in a 1-minute budget: %d epochs, want 3 (the warm-up's length)", e)
	}
	if e := FitEpochsFor(time.Hour, 0, time.Microsecond, 5, 10, 0.5); e != MaxFitEpochs {
		t.Errorf("a tiny data set and an hour: %d epochs, want the cap %d", e, MaxFitEpochs)
	}
}

func TestFitEpochsSetsTheLengthRecordsItAndResumeKeepsIt(t *testing.T) {
	root := writeFolder(t, 3, 40)
	cfg := tinyConfig(root, filepath.Join(t.TempDir(), "fit"))
	cfg.BatchSize = 8 // 15 steps per epoch
	cfg.FitEpochs = true
	cfg.Epochs = MaxFitEpochs // as the CLI does: no cap but the fit's own
	cfg.MaxTime = Duration(time.Hour)
	cfg.MaxSteps = 20 // the fit asks for far more epochs than the test trains
	var log bytes.Buffer
	tr, err := New(cfg, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "auto: --epochs ") {
		t.Fatalf("the fit printed nothing:\n%s", log.String())
	}
	got := tr.Config.Epochs
	if got <= 2 || tr.TotalSteps != got*tr.StepsPerEpoch {
		t.Fatalf("fitted %d epochs (total %d steps of %d per epoch); an hour of millisecond steps fits hundreds", got, tr.TotalSteps, tr.StepsPerEpoch)
	}
	b, err := os.ReadFile(filepath.Join(cfg.Out, modeldir.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var written struct {
		Epochs int `json:"epochs"`
	}
	if err := json.Unmarshal(b, &written); err != nil || written.Epochs != got {
		t.Fatalf("config.json records %d epochs (%v), the run chose %d", written.Epochs, err, got)
	}
	stored, err := StoredConfig(cfg.Out)
	if err != nil || stored.Epochs != got {
		t.Fatalf("the checkpoint records %d epochs (%v), the run chose %d", stored.Epochs, err, got)
	}
	// Resuming with the same flags keeps the chosen length and fits nothing again.
	again := cfg
	again.MaxSteps = 22
	again.Resume = true
	rc, err := ResumeConfig(again, func(f string) bool { return f == "max-time" || f == "max-steps" })
	if err != nil {
		t.Fatal(err)
	}
	log.Reset()
	tr2, err := New(rc, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tr2.Config.Epochs != got || strings.Contains(log.String(), "auto: --epochs") {
		t.Fatalf("resumed with %d epochs (chose %d at the start), log:\n%s", tr2.Config.Epochs, got, log.String())
	}
}

func TestFitEpochsNeedsMaxTime(t *testing.T) {
	cfg := Default()
	cfg.FitEpochs = true
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--max-time") {
		t.Fatalf("FitEpochs without MaxTime: %v", err)
	}
}

// With FitEpochs, Epochs is a cap: an hour of millisecond steps fits hundreds of epochs, but the
// run keeps the 3 it was given.
func TestFitEpochsKeepsEpochsAsTheCap(t *testing.T) {
	cfg := tinyConfig(writeFolder(t, 3, 40), filepath.Join(t.TempDir(), "cap"))
	cfg.BatchSize, cfg.Epochs, cfg.FitEpochs, cfg.MaxTime = 8, 3, true, Duration(time.Hour)
	var log bytes.Buffer
	tr, err := New(cfg, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Config.Epochs != 3 || res.Epochs != 3 || !strings.Contains(log.String(), "auto: --epochs 3 ") {
		t.Fatalf("fitted %d epochs, trained %d, want the cap 3; log:\n%s", tr.Config.Epochs, res.Epochs, log.String())
	}
}
