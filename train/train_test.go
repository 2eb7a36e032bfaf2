package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/internal/fixture"
	"github.com/contrastive-go/contrastive/modeldir"

	"github.com/contrastive-go/contrastive/models"
)

// writeFolder writes n Fashion-MNIST PNGs per class into a class-per-subfolder tree.
func writeFolder(t *testing.T, classes, n int) string {
	root := t.TempDir()
	fixture.FashionFolder(t, root, classes, n, 0)
	return root
}

func tinyConfig(dataDir, out string) Config {
	cfg := Default()
	cfg.Data = dataDir
	cfg.Out = out
	cfg.Epochs = 2
	cfg.BatchSize = 32
	cfg.LogEvery = 1
	cfg.KNNEvery = -1
	cfg.Workers = 2
	cfg.Model = models.Config{Name: models.SmallCNNName, PoolGrid: 1, Channels: []int{8, 16}, Strides: []int{2, 2}, Head: models.HeadConfig{Hidden: 32, Out: 16}}
	return cfg
}

func losses(t *testing.T, dir string) []float64 { return metricValues(t, dir, "loss") }

// metricValues returns the values of one key in a run's metrics.jsonl, in order.
func metricValues(t *testing.T, dir, key string) []float64 {
	t.Helper()
	lines, err := modeldir.ReadMetrics(filepath.Join(dir, modeldir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, l := range lines {
		if v, ok := l[key]; ok {
			out = append(out, v)
		}
	}
	return out
}

func TestResumeReproducesTheLossCurveExactly(t *testing.T) {
	root := writeFolder(t, 3, 40) // 120 images → 3 steps per epoch at batch 32
	full := tinyConfig(root, filepath.Join(t.TempDir(), "full"))
	res, err := Run(context.Background(), full, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 6 || res.Epochs != 2 {
		t.Fatalf("full run: %d steps over %d epochs, want 6 over 2", res.Steps, res.Epochs)
	}
	want := losses(t, full.Out)

	// Interrupted twice: once inside the first epoch, once after it.
	part := tinyConfig(root, filepath.Join(t.TempDir(), "part"))
	part.MaxSteps = 2
	if r, err := Run(context.Background(), part, nil); err != nil || r.Stopped != "max-steps" {
		t.Fatalf("first leg: %v, %+v", err, r)
	}
	part.MaxSteps = 4
	if _, err := Run(context.Background(), resumed(part), nil); err != nil {
		t.Fatal(err)
	}
	part.MaxSteps = 0
	if _, err := Run(context.Background(), resumed(part), nil); err != nil {
		t.Fatal(err)
	}
	got := losses(t, part.Out)
	if len(got) != len(want) {
		t.Fatalf("resumed run logged %d losses, uninterrupted %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: resumed loss %v, uninterrupted %v (must be bit-identical)", i+1, got[i], want[i])
		}
	}
	if want[0] == want[len(want)-1] {
		t.Errorf("the loss never changed: %v", want)
	}
}

func TestRunRefusesToOverwriteAndReportsBadInput(t *testing.T) {
	root := writeFolder(t, 2, 20)
	cfg := tinyConfig(root, filepath.Join(t.TempDir(), "run"))
	cfg.MaxSteps = 1
	if _, err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg, nil); err == nil {
		t.Error("a second run into the same --out without --resume must fail")
	}
	bad := cfg
	bad.Out = filepath.Join(t.TempDir(), "x")
	bad.Method = "no-such-method"
	if _, err := Run(context.Background(), bad, nil); err == nil {
		t.Error("an unknown method must fail")
	}
	bad.Method = "simclr"
	bad.Data = filepath.Join(t.TempDir(), "missing")
	if _, err := Run(context.Background(), bad, nil); err == nil {
		t.Error("a missing data path must fail")
	}
	if _, err := Run(context.Background(), resumed(tinyConfig(root, filepath.Join(t.TempDir(), "fresh"))), nil); err == nil {
		t.Error("--resume without a checkpoint must fail")
	}
}

func TestNonFiniteLossStopsAndKeepsTheCheckpoint(t *testing.T) {
	root := writeFolder(t, 2, 64) // 4 steps per epoch: the NaN comes mid-epoch
	cfg := tinyConfig(root, filepath.Join(t.TempDir(), "nan"))
	cfg.MaxSteps = 1
	if _, err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(cfg.Out, modeldir.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxSteps = 0
	testLossHook = func(step int, l float64) float64 {
		if step == 2 {
			return math.NaN()
		}
		return l
	}
	defer func() { testLossHook = nil }()
	_, err = Run(context.Background(), resumed(cfg), nil)
	// The hook sees 0-based steps; messages count from 1, as the progress line does.
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "step 3 ") || !strings.Contains(err.Error(), "epoch 1/2") {
		t.Fatalf("err = %v, want ErrNonFinite naming step 3 of epoch 1/2", err)
	}
	if after, _ := os.ReadFile(filepath.Join(cfg.Out, modeldir.CheckpointFile)); string(after) != string(good) {
		t.Error("the last good checkpoint changed")
	}
}

// TestEncoderTakesTheDataChannels trains a (narrow) ResNet, whose default input is RGB, on the
// one-channel Fashion-MNIST IDX files shipped in the binary: the encoder must be built for the
// data's channels, and an explicit, different channel count must be refused with an error, not
// a panic inside the first convolution.
func TestEncoderTakesTheDataChannels(t *testing.T) {
	cfg := tinyConfig("fashion-mnist:embedded", filepath.Join(t.TempDir(), "resnet"))
	cfg.Model = models.Config{Name: models.ResNet18CIFARName, Channels: []int{4, 4, 8, 8}, Head: models.HeadConfig{Hidden: 16, Out: 8}}
	cfg.MaxSteps, cfg.BatchSize = 1, 8
	if _, err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatalf("ResNet on 1-channel data: %v", err)
	}
	md, err := modeldir.Open(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	if got := md.Channels(); got != 1 {
		t.Errorf("the model directory records %d input channels, want 1", got)
	}
	cfg.Out = filepath.Join(t.TempDir(), "rgb")
	cfg.Model.InChannels = 3
	_, err = Run(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "3-channel") || !strings.Contains(err.Error(), "1-channel") {
		t.Errorf("a 3-channel model on 1-channel data: err = %v, want one naming both channel counts", err)
	}
}

func resumed(c Config) Config {
	c.Resume = true
	return c
}
