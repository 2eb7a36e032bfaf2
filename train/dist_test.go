package train

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/internal/mpitest"
	ssl "github.com/contrastive-go/contrastive/method"
	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/models"
)

// The trainer's data-parallel equivalence: `2 ranks × 128 images` trains as `1 process × 256`,
// through everything a run does — the seeded permutation and augmentations of the loader, each
// rank's shard of it, the method's global-batch terms (SimCLR's, DCL's and DCLW's gathered
// negatives with SyncBN, MoCo v2's shuffled BN and shared queue, Barlow Twins' global statistics
// with SyncBN, NNCLR's shared support set and gathered contrast, SwAV's Sinkhorn over the global
// batch, DINO's centre of the global batch's teacher outputs), the
// bucketed gradient average overlapping the backward pass, the optimizer and the schedule. The
// test process trains each method 10 steps on one process and writes the losses and the final
// state; then 2 ranks, over Open MPI's TCP transport (loopback), train the same configuration
// and compare: every step's loss within 1e-5 relative, every parameter tensor within 1e-4 of
// its largest magnitude after 10 steps, and the parameters' hash equal on both ranks after
// every step.
//
// The optimizer is SGD with momentum: Adam divides each gradient by its own running magnitude,
// so a gradient that is 0 in exact arithmetic (a convolution's bias ahead of BatchNorm) moves
// its parameter by ±lr on rounding noise, different in any summation order (one process on 1
// or 2 threads already differs); the method tests (method/dataparallel_test.go) use a small
// Adam step for that reason. SGD moves such parameters by lr × noise, so the comparison stays
// about the data-parallel computation. Barlow Twins, DCLW and DINO train at lr 0.01 rather than 0.05:
// at 0.05 DINO's losses still agree to 2e-7, but its parameters end 2.6e-4 apart (4e-7 through
// step 14, then a tenfold jump and growth of 1.4x a step; with the teacher at τ 0.1, 4.6e-3);
// DCLW at 0.05 passed on a Xeon but not on an AMD EPYC (Zen 4), where its losses agree to 1e-5
// through step 11 and its parameters end 6.6e-3 apart (at 0.01: 8e-8 and 3.5e-7). Twenty
// steps amplify perturbations: one ulp added to every initial weight moves a one-process run's
// parameters by 3e-4 to 1e-2 relative (DCL, DCLW, SwAV, DINO at lr 0.01 and 0.05), so at 20
// steps the comparison passed only where the ranks happened to compute nearly every value as one
// process does: on a Xeon with AVX-512 (2026-12-04) DCLW ended 1.2e-3 apart, and after a change
// to conv1's weight-gradient sums (the same in both runs) SimCLR, DCL and SwAV 4e-4 to 1e-3
// apart instead, while every loss still agreed to 1e-5. Ten steps (SwAV's and DINO's frozen
// layers learn from step 6) keep all eight within 1.1e-6 of each other on that machine, before
// and after that change: a margin of 90 below the bound, where the bugs this test caught
// (per-rank negatives, weights, Sinkhorn sums or centre) are off at step 1.

const (
	distSteps  = 10
	distRefEnv = "CONTRASTIVE_DIST_TRAIN_REF"
	distOutEnv = "CONTRASTIVE_DIST_TRAIN_OUT"
)

var distMethods = []string{"simclr", "moco-v2", "barlow-twins", "dcl", "dclw", "nnclr", "swav", "dino"}

// distConfig is a short run of method on the Fashion-MNIST test images shipped in the binary:
// 10 steps of the global batch of 256, a small CNN at 28 px.
func distConfig(method, out string) Config {
	cfg := Default()
	cfg.Method, cfg.Data, cfg.Out = method, "fashion-mnist:embedded", out
	cfg.Epochs, cfg.MaxSteps, cfg.BatchSize = 1, distSteps, 256
	cfg.Optimizer, cfg.LR, cfg.Schedule, cfg.Warmup = "sgd", 0.05, "cosine", 0.2
	cfg.Augment, cfg.KNNEvery, cfg.LogEvery, cfg.Workers = "small-gray", -1, 1, 1
	cfg.QueueSize = 1024
	if method == "barlow-twins" || method == "dino" || method == "dclw" {
		cfg.LR = 0.01
	}
	cfg.Model = models.Config{Name: models.SmallCNNName, PoolGrid: 1, Channels: []int{8, 16, 32}, Strides: []int{2, 2, 2},
		Head: models.HeadConfig{Kind: models.HeadMLP2BN, Hidden: 32, Out: 16}}
	if method == "simclr" {
		cfg.Model.Head.Kind = models.HeadMLP2
	}
	return cfg
}

// distRun is what a run gives: the global loss of each step and the final state by name.
type distRun struct {
	Losses []float64
	State  map[string][]float32
}

// distTrain runs method; on several ranks it checks after every step that the parameters'
// hash is rank 0's.
func distTrain(t *testing.T, method, out string, comm dist.Comm) distRun {
	t.Helper()
	tr, err := New(distConfig(method, out), Options{Comm: comm})
	if err != nil {
		t.Fatal(err)
	}
	// SwAV's prototypes and DINO's last layer learn from step 6 (313 by default).
	switch m := tr.Method.(type) {
	case *ssl.SwAV:
		m.FreezeSteps = 5
	case *ssl.DINO:
		m.FreezeSteps = 5
	}
	var run distRun
	tr.AddHook(Hook{Name: "record", StepEnd: func(tr *Trainer, e *StepEnd) error {
		run.Losses = append(run.Losses, e.Loss)
		if comm != nil {
			h := tr.ParamsHash()
			buf := append([]byte(nil), h[:]...)
			comm.Broadcast(buf, 0)
			if string(buf) != string(h[:]) {
				return fmt.Errorf("%s: step %d: rank %d's parameters differ from rank 0's", method, e.GlobalStep, comm.Rank())
			}
		}
		return nil
	}})
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != distSteps || res.WorldSize != tr.WorldSize() {
		t.Fatalf("%s: %d steps on a world of %d, want %d on %d", method, res.Steps, res.WorldSize, distSteps, tr.WorldSize())
	}
	run.State = map[string][]float32{}
	for _, p := range tr.Method.Params() {
		run.State[p.Name] = append([]float32(nil), p.Value.Data...)
	}
	for k, v := range tr.Method.State() {
		if v.Dims() > 0 && (method != "moco-v2" || !isRunningStat(k)) {
			run.State["method."+k] = append([]float32(nil), v.Data...)
		}
	}
	if method != "moco-v2" { // synchronised BatchNorm: the running statistics of the global batch
		for _, b := range tr.Model.Buffers() {
			if !b.Int {
				run.State[b.Name] = append([]float32(nil), b.Value.Data...)
			}
		}
	}
	return run
}

func TestTrainerTwoRanksEqualOneProcess(t *testing.T) {
	if !mpitest.Rank() {
		if testing.Short() {
			t.Skip("trains 8 methods × 10 steps twice")
		}
		ref := map[string]distRun{}
		for _, m := range distMethods {
			ref[m] = distTrain(t, m, filepath.Join(t.TempDir(), m), nil)
		}
		path := filepath.Join(t.TempDir(), "ref.gob")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := gob.NewEncoder(f).Encode(ref); err != nil {
			t.Fatal(err)
		}
		f.Close()
		out := t.TempDir()
		mpitest.Run(t, mpitest.Job{NP: 2, Args: []string{"--mca", "btl", "self,tcp"}, Env: []string{distRefEnv + "=" + path, distOutEnv + "=" + out}, Timeout: 5 * time.Minute})
		checkRankZeroWrote(t, filepath.Join(out, distMethods[0]))
		return
	}
	comm := mpitest.Join(t)
	f, err := os.Open(os.Getenv(distRefEnv))
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]distRun
	if err := gob.NewDecoder(f).Decode(&ref); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, m := range distMethods {
		want := ref[m]
		got := distTrain(t, m, filepath.Join(os.Getenv(distOutEnv), m), comm)
		worstLoss := 0.0
		for s := range want.Losses {
			r := math.Abs(got.Losses[s]-want.Losses[s]) / math.Abs(want.Losses[s])
			worstLoss = max(worstLoss, r)
			if !(r <= 1e-5) {
				t.Errorf("%s: step %d: loss on 2 ranks %.8g, on one process %.8g (relative difference %.2g > 1e-5)", m, s+1, got.Losses[s], want.Losses[s], r)
			}
		}
		worst, where := 0.0, ""
		for name, w := range want.State {
			g, ok := got.State[name]
			if !ok || len(g) != len(w) {
				t.Fatalf("%s: %s missing or of another size on 2 ranks", m, name)
			}
			var scale, diff float64
			at := 0
			for i := range w {
				scale = max(scale, math.Abs(float64(w[i])))
				if d := math.Abs(float64(g[i]) - float64(w[i])); d > diff {
					diff, at = d, i
				}
			}
			if r := diff / max(scale, 1e-30); r > worst {
				worst, where = r, fmt.Sprintf("%s[%d] %.8g vs %.8g", name, at, g[at], w[at])
			}
		}
		if !(worst <= 1e-4) {
			t.Errorf("%s: after %d steps the state on 2 ranks and on one process differ by %.2g relative (> 1e-4) at %s", m, distSteps, worst, where)
		}
		if comm.Rank() == 0 {
			t.Logf("%s: %d losses within %.2g relative (first %.5f, last %.5f); %d tensors within %.2g (%s)", m, len(want.Losses), worstLoss, got.Losses[0], got.Losses[distSteps-1], len(want.State), worst, where)
		}
	}
}

// checkRankZeroWrote checks the model directory of a 2-rank run: config.json, every metrics
// line and the checkpoint say world_size 2, and there is one metrics line per step (one writer).
func checkRankZeroWrote(t *testing.T, dir string) {
	t.Helper()
	var cfg struct {
		WorldSize int `json:"world_size"`
	}
	b, err := os.ReadFile(filepath.Join(dir, modeldir.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.WorldSize != 2 {
		t.Errorf("config.json: world_size %d (%v), want 2", cfg.WorldSize, err)
	}
	lines, err := modeldir.ReadMetrics(filepath.Join(dir, modeldir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	for _, l := range lines {
		if l["world_size"] != 2 {
			t.Errorf("metrics line %v: world_size %v, want 2", l, l["world_size"])
		}
		if _, ok := l["loss"]; ok {
			steps++
		}
	}
	if steps != distSteps {
		t.Errorf("metrics.jsonl holds %d step lines, want %d (rank 0 alone writes)", steps, distSteps)
	}
	cp, err := loadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cp.pos.WorldSize != 2 || cp.pos.GlobalStep != distSteps {
		t.Errorf("checkpoint: world size %d at step %d, want 2 at %d", cp.pos.WorldSize, cp.pos.GlobalStep, distSteps)
	}
}

// failingData fails every Get after the first `after` on the rank that has it set, as a disk
// that goes away under one machine would.
type failingData struct {
	data.Dataset
	after int64
	calls atomic.Int64
}

func (f *failingData) Get(i int) (data.Sample, error) {
	if f.after > 0 && f.calls.Add(1) > f.after {
		return data.Sample{}, fmt.Errorf("reading /mnt/shard/img%05d.png: input/output error", i)
	}
	return f.Dataset.Get(i)
}

// TestTrainerStopsEveryRankWhenOneCannotRead: rank 1's data fails after 3 batches; every rank
// stops at the same step with a JobError naming rank 1 and the file, none waits for another.
func TestTrainerStopsEveryRankWhenOneCannotRead(t *testing.T) {
	if !mpitest.Rank() {
		mpitest.Run(t, mpitest.Job{NP: 2, Env: []string{distOutEnv + "=" + t.TempDir()}, Timeout: 2 * time.Minute})
		return
	}
	comm := mpitest.Join(t)
	cfg := distConfig("simclr", filepath.Join(os.Getenv(distOutEnv), "run"))
	ds, err := data.OpenForModel(cfg.Data, data.ModelOptions{Channels: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fd := &failingData{Dataset: ds}
	if comm.Rank() == 1 {
		fd.after = 3 * 128
	}
	tr, err := New(cfg, Options{Comm: comm, Data: fd})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	var je *JobError
	if res != nil || !errors.As(err, &je) || !strings.Contains(err.Error(), "rank 1 of 2: epoch 1/1: loader: reading sample ") || !strings.Contains(err.Error(), ".png: input/output error") {
		t.Fatalf("rank %d: result %v, error %v; want a JobError naming rank 1 and its file", comm.Rank(), res, err)
	}
	steps := []float64{float64(tr.Position().GlobalStep)}
	comm.AllReduce64(steps)
	if got := tr.Position().GlobalStep; steps[0] != float64(2*got) || got < 2 || got > 3 {
		t.Errorf("rank %d stopped after %d steps (both ranks: %v); want the same step, 2 or 3", comm.Rank(), got, steps[0])
	}
	if comm.Rank() == 0 {
		t.Logf("every rank stopped after step %d: %v", tr.Position().GlobalStep, err)
	}
}
