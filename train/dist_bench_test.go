//go:build linux || darwin || freebsd

package train

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
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
// pass and after it, the ranks waiting for each other polled or spinning (dist.WaitEnv). It reports images/s and their ratio, the time a rank waited for the
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

// timedComm adds up the time spent in the blocking collectives (SyncBN's statistics, the
// gathers, the loss and the ranks' agreement): time a rank waits for the other, mostly.
type timedComm struct {
	dist.Comm
	in time.Duration
}

func (c *timedComm) time(f func()) {
	t0 := time.Now()
	f()
	c.in += time.Since(t0)
}
func (c *timedComm) AllReduce(b []float32)     { c.time(func() { c.Comm.AllReduce(b) }) }
func (c *timedComm) AllReduce64(b []float64)   { c.time(func() { c.Comm.AllReduce64(b) }) }
func (c *timedComm) AllGather(d, s []float32)  { c.time(func() { c.Comm.AllGather(d, s) }) }
func (c *timedComm) Broadcast(b []byte, r int) { c.time(func() { c.Comm.Broadcast(b, r) }) }

// benchRow is one measured configuration.
type benchRow struct {
	Case, Mode            string
	ImagesPerSec          float64
	CollMs                float64 // per step, in the blocking collectives
	CPUPerImage           float64 // CPU ms per image, all processes together
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
	var tc *timedComm
	if comm != nil {
		tc = &timedComm{Comm: comm}
		comm = tc
	}
	tr, err := New(benchConfig(c, out), Options{Comm: comm, AverageAfterBackward: after, BucketBytes: bucket, NoDefaultHooks: true})
	if err != nil {
		t.Fatal(err)
	}
	var t0 time.Time
	var s0 dist.Stats
	var in0, cpu0 time.Duration
	tr.AddHook(Hook{StepEnd: func(tr *Trainer, e *StepEnd) error {
		if e.GlobalStep == benchWarm {
			t0, s0, cpu0 = time.Now(), tr.CommStats(), processCPU()
			if tc != nil {
				in0 = tc.in
			}
		}
		return nil
	}})
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := time.Since(t0)
	cpu := []float64{(processCPU() - cpu0).Seconds()}
	if comm != nil {
		comm.AllReduce64(cpu)
	}
	s := tr.CommStats()
	row := benchRow{Case: c.Name, ImagesPerSec: float64(benchSteps*tr.Config.BatchSize) / d.Seconds(),
		WaitMs: float64((s.Wait - s0.Wait).Microseconds()) / 1e3 / benchSteps, CopyMs: float64((s.Copy - s0.Copy).Microseconds()) / 1e3 / benchSteps,
		BytesPerStep: (s.Bytes - s0.Bytes) / benchSteps, Buckets: int64(s.Buckets-s0.Buckets) / benchSteps,
		CPUPerImage: cpu[0] * 1e3 / float64(benchSteps*tr.Config.BatchSize)}
	if tc != nil {
		row.CollMs = float64((tc.in - in0).Microseconds()) / 1e3 / benchSteps
	}
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

// benchModes are the data-parallel variants timed: gradient buckets of the default 25 MB (one
// for either model) or smaller ones started during the backward pass, or one average after it.
var benchModes = []struct {
	after  bool
	bucket int
	name   string
}{{false, 0, "25 MB buckets during backward"}, {true, 0, "average after backward"}}

func TestDataParallelThroughput(t *testing.T) {
	dest := os.Getenv(distBenchEnv)
	if dest == "" {
		t.Skip(distBenchEnv + "=1 runs the data-parallel throughput benchmark")
	}
	if mpitest.Rank() {
		benchRanks(t, dest)
		return
	}
	rounds := 3
	if v := os.Getenv(distBenchEnv + "_ROUNDS"); v != "" {
		fmt.Sscan(v, &rounds)
	}
	// Rounds alternate the one-process runs with the 2-rank job, so that the machine's drift
	// hits both; ratios are taken within a round and their median reported.
	all := map[string][]benchRow{}
	var order []string
	add := func(r benchRow) {
		k := r.Case + "|" + r.Mode
		if _, ok := all[k]; !ok {
			order = append(order, k)
		}
		all[k] = append(all[k], r)
	}
	for round := range rounds {
		for _, c := range benchCases() {
			r := benchRun(t, c, filepath.Join(t.TempDir(), c.Name), nil, false, 0)
			r.Mode = fmt.Sprintf("1 process × %d threads", runtime.GOMAXPROCS(0))
			add(r)
			prev := runtime.GOMAXPROCS(1)
			r = benchRun(t, c, filepath.Join(t.TempDir(), c.Name+"1"), nil, false, 0)
			runtime.GOMAXPROCS(prev)
			r.Mode = "1 process × 1 thread"
			add(r)
		}
		for _, wait := range []string{"poll", "spin"} {
			res := filepath.Join(t.TempDir(), "ranks.json")
			mpitest.Run(t, mpitest.Job{NP: 2, Threads: 1, Env: []string{distBenchEnv + "=" + res, distOutEnv + "=" + t.TempDir(), dist.WaitEnv + "=" + wait}, Timeout: 15 * time.Minute})
			b, err := os.ReadFile(res)
			if err != nil {
				t.Fatal(err)
			}
			var ranks []benchRow
			if err := json.Unmarshal(b, &ranks); err != nil {
				t.Fatal(err)
			}
			for _, r := range ranks {
				r.Mode += ", " + wait + " waits"
				add(r)
			}
		}
		t.Logf("round %d of %d done", round+1, rounds)
	}
	median := func(v []float64) float64 {
		slices.Sort(v)
		return v[len(v)/2]
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "| model | run | images/s (median of %d) | ratio to 1 process × %d threads (median) | CPU ms/image | other collectives, ms/step | gradient all-reduce wait, ms/step | bucket copies, ms/step | all-reduce bytes/step (buckets) | the all-reduce alone, ms |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n", rounds, runtime.GOMAXPROCS(0))
	for _, k := range order {
		rs := all[k]
		base := all[rs[0].Case+"|"+fmt.Sprintf("1 process × %d threads", runtime.GOMAXPROCS(0))]
		var ips, ratio, wait, cp, ar, coll, cpu []float64
		for i, r := range rs {
			ips, coll, cpu = append(ips, r.ImagesPerSec), append(coll, r.CollMs), append(cpu, r.CPUPerImage)
			ratio = append(ratio, r.ImagesPerSec/base[i].ImagesPerSec)
			wait, cp, ar = append(wait, r.WaitMs), append(cp, r.CopyMs), append(ar, r.AllReduceMs)
		}
		if rs[0].BytesPerStep == 0 {
			fmt.Fprintf(&sb, "| %s | %s | %.0f | %.2f | %.2f | | | | | |\n", rs[0].Case, rs[0].Mode, median(ips), median(ratio), median(cpu))
			continue
		}
		fmt.Fprintf(&sb, "| %s | %s | %.0f | %.2f | %.2f | %.1f | %.1f | %.1f | %d (%d) | %.2f |\n", rs[0].Case, rs[0].Mode, median(ips), median(ratio), median(cpu), median(coll), median(wait), median(cp), rs[0].BytesPerStep, rs[0].Buckets, median(ar))
	}
	t.Log("\n" + sb.String())
	if dest != "1" {
		os.WriteFile(dest, []byte(sb.String()), 0o644)
	}
}

// benchRanks is a rank's part: every case in every mode, rank 0 writing the rows to dest.
func benchRanks(t *testing.T, dest string) {
	comm := mpitest.Join(t)
	var rows []benchRow
	for _, c := range benchCases() {
		for _, m := range benchModes {
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

// processCPU is the CPU time this process has used (user and system, every thread).
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
