package method

import (
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/internal/mpitest"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/nn"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

// The data-parallel equivalence: 2 ranks × 128 images train exactly as 1 process × 256. The
// test process runs the single-process reference (20 Adam steps) and writes its losses and
// final parameters to a file; then 2 ranks under mpirun run the same 20 steps, each on its half
// of every global batch, averaging gradients with dist.GradAverager, and compare: the global
// loss (mean of the ranks' losses) of every step within 1e-5 relative, every parameter within
// 1e-4 relative after 20 steps, and after every step the parameters equal bit for bit on every
// rank.
//
// The optimizer is Adam with lr 1e-4 and ε 1e-6. With PyTorch's defaults (lr 1e-3, ε 1e-8) these
// 20 steps amplify float32 rounding — which any change of summation order makes, even running one
// process on 1 thread instead of 2 — into parameter differences of several percent: Adam scales
// each gradient by its own magnitude, so one whose exact value is 0 or tiny moves by ±lr on
// noise. Measured on one process, 1 against 2 threads: MoCo v2's parameters 0.23 apart
// elementwise with the defaults, 1e-5 with these settings.

const (
	dpSteps  = 20
	dpImages = 256 // global batch
	dpHW     = 16
)

// dpCase is one method's equivalence setup.
type dpCase struct {
	method  string
	head    string
	cfg     Config
	overlap bool // average gradients in buckets while the backward pass runs
	// prepare adjusts the method for the number of ranks (MoCo v2: split-BN groups of the
	// global batch, which the ranks share).
	prepare func(m Method, ranks int)
	// buffers: also compare the BatchNorm running statistics (synchronised BN only).
	buffers bool
}

var dpCases = []dpCase{
	{method: "simclr", head: models.HeadMLP2, cfg: Config{Temperature: 0.5}, overlap: true, buffers: true},
	{method: "moco-v2", head: models.HeadMLP2, cfg: Config{Temperature: 0.2, QueueSize: 1024, EMAMomentum: 0.99, Seed: 7},
		prepare: func(m Method, _ int) { m.(*MoCoV2).Groups = 2 }}, // 2 sub-batches of the global batch: 1 per rank
	// As the official projector, the last linear layer has no bias: under the loss's
	// standardisation its gradient would be 0 up to rounding, which Adam turns into noise.
	{method: "barlow-twins", head: models.HeadMLP2BN, cfg: Config{Lambda: 0.02}, buffers: true,
		prepare: func(m Method, _ int) { m.Model().Head.(*nn.Sequential).Layers[3].(*nn.Linear).Bias = nil }},
	{method: "dcl", head: models.HeadMLP2, cfg: Config{Temperature: 0.1}, overlap: true, buffers: true},
	{method: "dclw", head: models.HeadMLP2, cfg: Config{Temperature: 0.1, Sigma: 0.05}, buffers: true},
	// A support set of 2 global batches: from step 3 the neighbours are past projections. The
	// projector's last bias goes only into the predictor's BatchNorm (the neighbours carry no
	// gradient): its gradient is 0 up to rounding, so it is left out as for Barlow Twins.
	{method: "nnclr", head: models.HeadMLP2BN, cfg: Config{Temperature: 0.1, QueueSize: 512, Seed: 7}, overlap: true, buffers: true,
		prepare: func(m Method, _ int) { m.Model().Head.(*nn.Sequential).Layers[3].(*nn.Linear).Bias = nil }},
	// SwAV is not among them: with its prototypes learning from step 6 (64 of them), these 20
	// Adam steps agree exactly up to step 6 and then drift apart to 3.5e-6 in the loss and 2e-3
	// in the smallest tensors (BatchNorm biases of magnitude 1e-3) — Sinkhorn's ε = 0.05 and
	// Adam's per-element scaling amplify the rounding of another summation order — while the
	// first step's gradients, prototypes included, agree to 1.4e-6 (below). The trainer's
	// 20-step test (SGD, train/dist_test.go) holds SwAV to 1e-7.
	// 64 outputs, the last layer learning from step 6; the teacher, both last layers and the
	// centre are compared too (State).
	{method: "dino", head: models.HeadMLP2BN, cfg: Config{Temperature: 0.1, Prototypes: 64, Seed: 7}, overlap: true, buffers: true,
		prepare: func(m Method, _ int) { m.(*DINO).FreezeSteps = 5 }},
}

// dpResult is what a run produces: the global loss of each step and the final state.
type dpResult struct {
	Losses []float64
	Params map[string][]float32
}

// dpBatch is global step s's two views of dpImages images, [2·256, 1, 16, 16]; rows lo … hi−1
// of each view are returned ([2·(hi−lo), ...], view-major).
func dpBatch(s, lo, hi int) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(uint64(s), 77))
	d := dpHW * dpHW
	all := make([]float32, 2*dpImages*d)
	for i := 0; i < dpImages; i++ {
		img := make([]float32, d)
		for j := range img {
			img[j] = float32(rng.NormFloat64())
		}
		for v := range 2 {
			row := all[(v*dpImages+i)*d : (v*dpImages+i+1)*d]
			for j := range row {
				row[j] = img[j] + 0.5*float32(rng.NormFloat64())
			}
		}
	}
	n := hi - lo
	x := tensor.New(2*n, 1, dpHW, dpHW)
	for v := range 2 {
		copy(x.Data[v*n*d:(v+1)*n*d], all[(v*dpImages+lo)*d:(v*dpImages+hi)*d])
	}
	return x
}

func dpMethod(t *testing.T, c dpCase, comm dist.Comm) Method {
	t.Helper()
	f, err := Lookup(c.method)
	if err != nil {
		t.Fatal(err)
	}
	mc := models.Config{Name: models.SmallCNNName, PoolGrid: 1, InChannels: 1, Channels: []int{8, 16, 32}, Strides: []int{1, 2, 2},
		Head: models.HeadConfig{Kind: c.head, Hidden: 32, Out: 16}}
	if f.Adjust != nil {
		f.Adjust(&mc)
	}
	model, err := models.Build(mc, 3)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.cfg
	if comm.Size() > 1 {
		cfg.Comm = comm
	}
	m, err := f.New(model, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.prepare != nil {
		c.prepare(m, comm.Size())
	}
	return m
}

// dpState is every parameter (and, with buffers, BatchNorm statistic) of the method by name,
// including momentum encoders and queues (State).
func dpState(m Method, buffers bool) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range m.Params() {
		out[p.Name] = append([]float32(nil), p.Value.Data...)
	}
	for k, v := range m.State() {
		if v.Dims() > 0 && (buffers || !isBuffer(k)) {
			out["state."+k] = append([]float32(nil), v.Data...)
		}
	}
	if buffers {
		for _, b := range m.Model().Buffers() {
			if !b.Int {
				out[b.Name] = append([]float32(nil), b.Value.Data...)
			}
		}
	}
	return out
}

func isBuffer(k string) bool {
	return filepath.Ext(k) == ".running_mean" || filepath.Ext(k) == ".running_var" || filepath.Ext(k) == ".num_batches_tracked"
}

// dpTrain runs the 20 steps on comm's share of each global batch. check, when set, runs after
// every step.
func dpTrain(t *testing.T, c dpCase, comm dist.Comm, check func(step int, m Method)) dpResult {
	m := dpMethod(t, c, comm)
	params := m.Params()
	grads := make([][]float32, len(params))
	for i, p := range params {
		grads[i] = p.Grad.Data
	}
	avg := dist.NewGradAverager(comm, grads, 64<<10) // small buckets: several per step
	opt := optim.NewAdam(params, optim.AdamConfig{LR: 1e-4, Eps: 1e-6})
	n := dpImages / comm.Size()
	lo := comm.Rank() * n
	tp := autodiff.NewTape()
	if c.overlap {
		tp.WatchParams(params, avg.Ready)
	}
	res := dpResult{}
	for s := range dpSteps {
		opt.ZeroGrad()
		l := m.Loss(Batch{X: tp.Constant(dpBatch(s, lo, lo+n)), V: 2, N: n})
		loss := []float64{float64(l.Item())}
		tp.Backward(l)
		avg.Wait()
		opt.Step()
		m.AfterStep(float64(s+1) / dpSteps)
		tp.Reset()
		comm.AllReduce64(loss)
		res.Losses = append(res.Losses, loss[0]/float64(comm.Size()))
		if check != nil {
			check(s, m)
		}
	}
	res.Params = dpState(m, c.buffers)
	return res
}

// dpRefEnv names the file of the single-process reference results, for the ranks.
const dpRefEnv = "CONTRASTIVE_DP_REFERENCE"

func TestDataParallelEquivalence(t *testing.T) {
	if !mpitest.Rank() {
		ref := map[string]dpResult{}
		for _, c := range dpCases {
			ref[c.method] = dpTrain(t, c, dist.Local{}, nil)
		}
		path := filepath.Join(t.TempDir(), "reference.gob")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := gob.NewEncoder(f).Encode(ref); err != nil {
			t.Fatal(err)
		}
		f.Close()
		mpitest.Run(t, mpitest.Job{NP: 2, Env: []string{dpRefEnv + "=" + path}})
		return
	}
	comm := mpitest.Join(t)
	f, err := os.Open(os.Getenv(dpRefEnv))
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]dpResult
	if err := gob.NewDecoder(f).Decode(&ref); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, c := range dpCases {
		want := ref[c.method]
		got := dpTrain(t, c, comm, func(step int, m Method) { sameOnEveryRank(t, comm, c.method, step, dpState(m, c.buffers)) })
		var worstLoss float64
		for s := range got.Losses {
			r := math.Abs(got.Losses[s]-want.Losses[s]) / math.Abs(want.Losses[s])
			worstLoss = max(worstLoss, r)
			if !(r <= 1e-5) {
				t.Errorf("%s: step %d: loss of 2 ranks %.8g, of one process %.8g (relative difference %.2g > 1e-5)", c.method, s, got.Losses[s], want.Losses[s], r)
			}
		}
		// Each parameter tensor: its largest difference relative to its largest magnitude.
		worst, where := 0.0, ""
		for name, w := range want.Params {
			g, ok := got.Params[name]
			if !ok || len(g) != len(w) {
				t.Fatalf("%s: %s missing or of another size on 2 ranks", c.method, name)
			}
			var scale, diff float64
			at := 0
			for i := range w {
				scale = max(scale, math.Abs(float64(w[i])))
				if d := math.Abs(float64(g[i]) - float64(w[i])); d > diff {
					diff, at = d, i
				}
			}
			if r := diff / scale; r > worst {
				worst, where = r, fmt.Sprintf("%s[%d] %.8g vs %.8g", name, at, g[at], w[at])
			}
		}
		if !(worst <= 1e-4) {
			t.Errorf("%s: after %d steps, parameters of 2 ranks and of one process differ by %.2g relative (> 1e-4) at %s", c.method, dpSteps, worst, where)
		}
		if comm.Rank() == 0 {
			t.Logf("%s: losses within %.2g relative (first %.6f, last %.6f); parameters within %.2g (%s)", c.method, worstLoss, got.Losses[0], got.Losses[dpSteps-1], worst, where)
		}
	}
}

// sameOnEveryRank fails t unless every value of state is bit-identical on every rank.
func sameOnEveryRank(t *testing.T, c dist.Comm, method string, step int, state map[string][]float32) {
	t.Helper()
	names := make([]string, 0, len(state))
	for k := range state {
		names = append(names, k)
	}
	slices.Sort(names)
	var flat []float32
	for _, k := range names {
		flat = append(flat, state[k]...)
	}
	all := make([]float32, c.Size()*len(flat))
	c.AllGather(all, flat)
	for r := range c.Size() {
		if !slices.Equal(all[r*len(flat):(r+1)*len(flat)], flat) {
			t.Fatalf("%s: step %d: rank %d's parameters differ from rank %d's", method, step, r, c.Rank())
		}
	}
}

// dpAllMethods are checked on one step: the global loss and the averaged gradients of 2 ranks
// against one process (the methods dpCases does not train 20 steps: BYOL, SimSiam and MoCo v3
// per-image or in-batch with momentum keys, SupCon with labels — some unknown — and VICReg).
var dpAllMethods = []string{"simclr", "supcon", "byol", "simsiam", "moco-v3", "vicreg", "barlow-twins", "moco-v2", "dcl", "dclw", "nnclr", "swav", "dino",
	"simclr" + multiCropSuffix, "swav" + multiCropSuffix, "dino" + multiCropSuffix}

// dpLabels returns the labels of global images lo … hi−1: i mod 5, unknown (−1) for i mod 7 = 0.
func dpLabels(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		if i%7 == 0 {
			out = append(out, -1)
		} else {
			out = append(out, i%5)
		}
	}
	return out
}

// dpLocal is global step s's 2 multi-crop local views of images lo … hi−1, [2·(hi−lo), 1, 8, 8]
// (view-major): each a 2×2 average of one of the global views plus noise of its own.
func dpLocal(s, lo, hi int) *tensor.Tensor {
	x := dpBatch(s, 0, dpImages)
	rng := rand.New(rand.NewPCG(uint64(s), 78))
	const h = dpHW / 2
	all := make([]float32, 2*dpImages*h*h)
	for v := range 2 {
		for i := range dpImages {
			src := x.Data[(v*dpImages+i)*dpHW*dpHW:]
			dst := all[(v*dpImages+i)*h*h:]
			for y := range h {
				for xx := range h {
					a := src[2*y*dpHW+2*xx] + src[2*y*dpHW+2*xx+1] + src[(2*y+1)*dpHW+2*xx] + src[(2*y+1)*dpHW+2*xx+1]
					dst[y*h+xx] = a/4 + 0.3*float32(rng.NormFloat64())
				}
			}
		}
	}
	n := hi - lo
	out := tensor.New(2*n, 1, h, h)
	for v := range 2 {
		copy(out.Data[v*n*h*h:(v+1)*n*h*h], all[(v*dpImages+lo)*h*h:(v*dpImages+hi)*h*h])
	}
	return out
}

// multiCropSuffix marks a dpAllMethods entry run with 2 local views per image.
const multiCropSuffix = "+multi-crop"

// dpFirstStep returns the global loss and the averaged gradients of one step.
func dpFirstStep(t *testing.T, name string, comm dist.Comm) dpResult {
	name, multiCrop := strings.CutSuffix(name, multiCropSuffix)
	c := dpCase{method: name, head: models.HeadMLP2BN, cfg: Config{Seed: 7, QueueSize: 512}}
	if name == "moco-v2" {
		c.prepare = dpCases[1].prepare
	}
	m := dpMethod(t, c, comm)
	n := dpImages / comm.Size()
	lo := comm.Rank() * n
	tp := autodiff.NewTape()
	b := Batch{X: tp.Constant(dpBatch(0, lo, lo+n)), V: 2, N: n, Labels: dpLabels(lo, lo+n)}
	if multiCrop {
		b.Local, b.L = tp.Constant(dpLocal(0, lo, lo+n)), 2
	}
	l := m.Loss(b)
	loss := []float64{float64(l.Item())}
	tp.Backward(l)
	params := m.Params()
	grads := make([][]float32, len(params))
	for i, p := range params {
		grads[i] = p.Grad.Data
	}
	dist.NewGradAverager(comm, grads, 0).Average()
	comm.AllReduce64(loss)
	res := dpResult{Losses: []float64{loss[0] / float64(comm.Size())}, Params: map[string][]float32{}}
	for _, p := range params {
		res.Params[p.Name] = append([]float32(nil), p.Grad.Data...)
	}
	return res
}

func TestDataParallelFirstStepOfEveryMethod(t *testing.T) {
	if !mpitest.Rank() {
		ref := map[string]dpResult{}
		for _, name := range dpAllMethods {
			ref[name] = dpFirstStep(t, name, dist.Local{})
		}
		path := filepath.Join(t.TempDir(), "first-step.gob")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := gob.NewEncoder(f).Encode(ref); err != nil {
			t.Fatal(err)
		}
		f.Close()
		mpitest.Run(t, mpitest.Job{NP: 2, Env: []string{dpRefEnv + "=" + path}})
		return
	}
	comm := mpitest.Join(t)
	f, err := os.Open(os.Getenv(dpRefEnv))
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]dpResult
	if err := gob.NewDecoder(f).Decode(&ref); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, name := range dpAllMethods {
		want, got := ref[name], dpFirstStep(t, name, comm)
		if r := math.Abs(got.Losses[0]-want.Losses[0]) / math.Abs(want.Losses[0]); !(r <= 1e-5) {
			t.Errorf("%s: loss of 2 ranks %.8g, of one process %.8g (relative difference %.2g)", name, got.Losses[0], want.Losses[0], r)
		}
		// Each gradient tensor relative to its largest magnitude, or to 1e-3 of the model's
		// largest gradient where that is larger: some gradients are 0 in exact arithmetic (the
		// projector's last bias ahead of the predictor's BatchNorm or of a standardising loss)
		// and hold only rounding noise, different in any summation order.
		var top float64
		for _, w := range want.Params {
			for _, v := range w {
				top = max(top, math.Abs(float64(v)))
			}
		}
		worst, where := 0.0, ""
		for p, w := range want.Params {
			g := got.Params[p]
			scale, diff := 1e-3*top, 0.0
			for i := range w {
				scale = max(scale, math.Abs(float64(w[i])))
				diff = max(diff, math.Abs(float64(g[i])-float64(w[i])))
			}
			if diff/scale > worst {
				worst, where = diff/scale, fmt.Sprintf("%s (largest difference %.2g, scale %.2g)", p, diff, scale)
			}
		}
		if !(worst <= 1e-4) {
			t.Errorf("%s: averaged gradients of 2 ranks differ from one process's by %.2g relative at %s", name, worst, where)
		}
		if comm.Rank() == 0 {
			t.Logf("%s: loss %.6f, gradients within %.2g (%s)", name, got.Losses[0], worst, where)
		}
	}
}

// fakeRanks claims to be one of 2 ranks; factories must refuse it or be data-parallel.
type fakeRanks struct{ dist.Local }

func (fakeRanks) Size() int { return 2 }

// TestMethodsWithoutDataParallelRefuseSeveralRanks: every registered method is either checked
// by the data-parallel tests above or refuses a communicator of several ranks with an error.
func TestMethodsWithoutDataParallelRefuseSeveralRanks(t *testing.T) {
	for _, name := range Names() {
		f, _ := Lookup(name)
		if f.DataParallel != slices.Contains(dpAllMethods, name) {
			t.Errorf("%s: DataParallel %v, but the data-parallel tests check %v", name, f.DataParallel, dpAllMethods)
		}
		if f.DataParallel {
			continue
		}
		cfg := tinyConfig()
		if f.Adjust != nil {
			f.Adjust(&cfg)
		}
		m, err := models.Build(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.New(m, Config{Comm: fakeRanks{}}); err == nil || !strings.Contains(err.Error(), "data-parallel") {
			t.Errorf("%s with 2 ranks: error %v, want a refusal naming data-parallel training", name, err)
		}
		if _, err := f.New(m, Config{Comm: dist.Local{}}); err != nil {
			t.Errorf("%s with the local communicator: %v", name, err)
		}
	}
}
