package train

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/internal/mpitest"
	"github.com/contrastive-go/contrastive/models"
)

// TestDataParallelThroughput is a benchmark, not a check (CONTRASTIVE_DIST_BENCH=1 runs it; a
// file to write the table to may follow, CONTRASTIVE_DIST_BENCH=/path): SimCLR steps of the
// global batch of 256 on Fashion-MNIST (the loader and its augmentations included) with the
// reference CNN and with the default recipe's model, on one process with every core, then on 2
// ranks of one core each (GOMAXPROCS=1), averaging the gradients in buckets during the backward
// pass and after it. It reports images/s and their ratio, the time a rank waited for the
// gradient all-reduce after the backward pass, the bytes it handed to it per step, and an
// all-reduce of the gradient's size timed alone.

const distBenchEnv = "CONTRASTIVE_DIST_BENCH"

const (
	benchWarm  = 4
	benchSteps = 16
)

type benchCase struct {
	Name  string
	Model models.Config
}

func benchCases() []benchCase {
	return []benchCase{{"reference", models.Reference()}, {"recipe", RecipeModel()}}
}

// benchRow is one measured configuration.
type benchRow struct {
	Case, Mode            string
	ImagesPerSec          float64
	WaitMs, CopyMs        float64 // per step
	BytesPerStep, Buckets int64
	AllReduceMs           float64 // one all-reduce of the gradient alone
}

func benchConfig(c benchCase, out string) Config {
	cfg := Default()
	cfg.Data, cfg.Out, cfg.Model, cfg.Augment = "fashion-mnist", out, c.Model, "small-gray"
	cfg.Epochs, cfg.MaxSteps, cfg.KNNEvery = 1, benchWarm+benchSteps, -1
	return cfg
}

// benchRun trains the case and times the steps after the warm-up.
func benchRun(t *testing.T, c benchCase, out string, comm dist.Comm, after bool, bucket int) benchRow {
	tr, err := New(benchConfig(c, out), Options{Comm: comm, AverageAfterBackward: after, BucketBytes: bucket, NoDefaultHooks: true})
	if err != nil {
		t.Fatal(err)
	}
	var t0 time.Time
	var s0 dist.Stats
	tr.AddHook(Hook{StepEnd: func(tr *Trainer, e *StepEnd) error {
		if e.GlobalStep == benchWarm {
			t0, s0 = time.Now(), tr.CommStats()
		}
		return nil
	}})
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := time.Since(t0)
	s := tr.CommStats()
	row := benchRow{Case: c.Name, ImagesPerSec: float64(benchSteps*tr.Config.BatchSize) / d.Seconds(),
		WaitMs: float64((s.Wait-s0.Wait).Microseconds()) / 1e3 / benchSteps, CopyMs: float64((s.Copy-s0.Copy).Microseconds()) / 1e3 / benchSteps,
		BytesPerStep: (s.Bytes - s0.Bytes) / benchSteps, Buckets: int64(s.Buckets-s0.Buckets) / benchSteps}
	if comm != nil && comm.Size() > 1 {
		buf := make([]float32, tr.Model.NumParams())
		comm.AllReduce(buf)
		start := time.Now()
		for range 10 {
			comm.AllReduce(buf)
		}
		row.AllReduceMs = float64(time.Since(start).Microseconds()) / 1e3 / 10
	}
	return row
}

func TestDataParallelThroughput(t *testing.T) {
	dest := os.Getenv(distBenchEnv)
	if dest == "" {
		t.Skip(distBenchEnv + "=1 runs the data-parallel throughput benchmark")
	}
	if !mpitest.Rank() {
		var rows []benchRow
		for _, c := range benchCases() {
			r := benchRun(t, c, filepath.Join(t.TempDir(), c.Name), nil, false, 0)
			r.Mode = fmt.Sprintf("1 process × %d threads", runtime.GOMAXPROCS(0))
			rows = append(rows, r)
			prev := runtime.GOMAXPROCS(1)
			r = benchRun(t, c, filepath.Join(t.TempDir(), c.Name+"1"), nil, false, 0)
			runtime.GOMAXPROCS(prev)
			r.Mode = "1 process × 1 thread"
			rows = append(rows, r)
		}
		res := filepath.Join(t.TempDir(), "ranks.json")
		mpitest.Run(t, mpitest.Job{NP: 2, Threads: 1, Env: []string{distBenchEnv + "=" + res, distOutEnv + "=" + t.TempDir()}, Timeout: 15 * time.Minute})
		b, err := os.ReadFile(res)
		if err != nil {
			t.Fatal(err)
		}
		var ranks []benchRow
		if err := json.Unmarshal(b, &ranks); err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "| model | run | images/s | ratio | all-reduce wait ms/step | pack ms/step | bytes/step (buckets) | all-reduce alone ms |\n|---|---|---|---|---|---|---|---|\n")
		for i, r := range rows {
			if i%2 == 1 {
				fmt.Fprintf(&sb, "| %s | %s | %.0f | %.3f | | | | |\n", r.Case, r.Mode, r.ImagesPerSec, r.ImagesPerSec/rows[i-1].ImagesPerSec)
				continue
			}
			fmt.Fprintf(&sb, "| %s | %s | %.0f | 1 | | | | |\n", r.Case, r.Mode, r.ImagesPerSec)
			for _, q := range ranks {
				if q.Case == r.Case {
					fmt.Fprintf(&sb, "| %s | %s | %.0f | %.3f | %.1f | %.1f | %d (%d) | %.1f |\n", q.Case, q.Mode, q.ImagesPerSec, q.ImagesPerSec/r.ImagesPerSec, q.WaitMs, q.CopyMs, q.BytesPerStep, q.Buckets, q.AllReduceMs)
				}
			}
		}
		t.Log("\n" + sb.String())
		if dest != "1" {
			os.WriteFile(dest, []byte(sb.String()), 0o644)
		}
		return
	}
	comm := mpitest.Join(t)
	var rows []benchRow
	for _, c := range benchCases() {
		for _, m := range []struct {
			after  bool
			bucket int
			name   string
		}{{false, 0, "buckets of 25 MB during backward"}, {false, 1 << 20, "buckets of 1 MB during backward"}, {true, 0, "average after backward"}} {
			r := benchRun(t, c, filepath.Join(os.Getenv(distOutEnv), fmt.Sprint(c.Name, m.after, m.bucket)), comm, m.after, m.bucket)
			r.Mode = "2 ranks × 1 thread, " + m.name
			rows = append(rows, r)
		}
	}
	if comm.Rank() == 0 {
		b, _ := json.Marshal(rows)
		if err := os.WriteFile(dest, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
