package method

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/internal/mpitest"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

// TestMeasureDataParallelStep prints the SimCLR reference step (DESIGN.md's model, 256 images ×
// 2 views of 28×28, Adam) on 1 process × GOMAXPROCS cores and on 2 ranks × 1 core, the latter
// with the gradients averaged after the backward pass and with the buckets overlapping it
// (Tape.WatchParams), and the communication per step. A measurement, not a test: set
// CONTRASTIVE_BENCH_MPI=1 (under flock on a shared machine).
func TestMeasureDataParallelStep(t *testing.T) {
	if !mpitest.Rank() {
		if os.Getenv("CONTRASTIVE_BENCH_MPI") == "" {
			t.Skip("a measurement, not a test: set CONTRASTIVE_BENCH_MPI=1 to run it")
		}
		d, _ := measureStep(t, dist.Local{}, false)
		fmt.Printf("1 process x %d cores: %.1f ms/step, %.0f images/s\n", runtime.GOMAXPROCS(0), d.Seconds()*1e3, 256/d.Seconds())
		out := mpitest.Run(t, mpitest.Job{NP: 2, Timeout: 10 * time.Minute})
		for _, l := range strings.Split(out, "\n") {
			if i := strings.Index(l, "MEASURE "); i >= 0 {
				fmt.Println(l[i+8:])
			}
		}
		return
	}
	c := mpitest.Join(t)
	for _, overlap := range []bool{false, true, false, true} {
		d, s := measureStep(t, c, overlap)
		if c.Rank() == 0 {
			mode := "after backward"
			if overlap {
				mode = "overlapped"
			}
			t.Logf("MEASURE 2 ranks x 1 core, %s: %.1f ms/step, %.0f images/s; per step %d buckets, %.2f MB, %.1f ms waiting, %.2f ms copying",
				mode, d.Seconds()*1e3, 256/d.Seconds(), s.Buckets, float64(s.Bytes)/1e6, s.Wait.Seconds()*1e3, s.Copy.Seconds()*1e3)
		}
	}
}

// measureStep returns the median SimCLR step time over 8 steps (after 2) and the last step's
// communication.
func measureStep(t *testing.T, c dist.Comm, overlap bool) (time.Duration, dist.Stats) {
	model, err := models.Build(models.Reference(), 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{}
	if c.Size() > 1 {
		cfg.Comm = c
	}
	m := &SimCLR{model: model, tau: 0.5, dp: newDataParallel(cfg)}
	params := m.Params()
	grads := make([][]float32, len(params))
	for i, p := range params {
		grads[i] = p.Grad.Data
	}
	avg := dist.NewGradAverager(c, grads, 0)
	opt := optim.NewAdam(params, optim.AdamConfig{LR: 1e-3})
	n := 256 / c.Size()
	x := tensor.New(2*n, 1, 28, 28)
	for i := range x.Data {
		x.Data[i] = float32(i%97) / 97
	}
	tp := autodiff.NewTape()
	if overlap {
		tp.WatchParams(params, avg.Ready)
	}
	var times []time.Duration
	var st dist.Stats
	for s := range 10 {
		c.Barrier()
		t0 := time.Now()
		opt.ZeroGrad()
		l := m.Loss(Batch{X: tp.Constant(x), V: 2, N: n})
		tp.Backward(l)
		avg.Wait()
		opt.Step()
		tp.Reset()
		if s >= 2 {
			times = append(times, time.Since(t0))
		}
		st = avg.Stats()
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	return times[len(times)/2], st
}
