package method

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

// tinyConfig is a small-cnn small enough for fast tests: 1×8×8 inputs, h of 8, z of 8.
func tinyConfig() models.Config {
	return models.Config{
		Name: models.SmallCNNName, PoolGrid: 1, InChannels: 1, Channels: []int{4, 8}, Strides: []int{1, 2},
		Head: models.HeadConfig{Kind: models.HeadMLP2, Hidden: 16, Out: 8},
	}
}

// testMethodConfig keeps the MoCo queue small.
var testMethodConfig = Config{QueueSize: 48, Seed: 7}

// newMethod builds the registered method name on a tiny model built from seed.
func newMethod(t testing.TB, name string, seed uint64) Method {
	t.Helper()
	f, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig()
	if f.Adjust != nil {
		f.Adjust(&cfg)
	}
	m, err := models.Build(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	meth, err := f.New(m, testMethodConfig)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// The generic tests train every weight from the first step; TestFrozenLastLayers covers
	// the freezing.
	switch x := meth.(type) {
	case *SwAV:
		x.FreezeSteps = 0
	case *DINO:
		x.FreezeSteps = 0
	}
	return meth
}

// randomImages returns n standard normal 1×8×8 images.
func randomImages(n int, seed uint64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 11))
	x := tensor.New(n, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

// randomBatch returns a two-view batch of n random images on tp, labels i mod 3.
func randomBatch(tp *autodiff.Tape, n int, seed uint64) Batch {
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 3
	}
	return Batch{X: tp.Constant(randomImages(2*n, seed)), V: 2, N: n, Labels: labels}
}

// viewsOf makes a two-view batch of the images base ([M,1,8,8]): n images drawn at random, each
// view the image with Gaussian noise and a random horizontal flip (SimCLR-style, for the toy
// training test).
func viewsOf(tp *autodiff.Tape, base *tensor.Tensor, n int, rng *rand.Rand) Batch {
	const hw = 8
	d := hw * hw
	x := tensor.New(2*n, 1, hw, hw)
	labels := make([]int, n)
	for i := range n {
		src := rng.IntN(base.Shape[0])
		labels[i] = src
		for v := range 2 {
			dst := x.Data[(v*n+i)*d : (v*n+i+1)*d]
			img := base.Data[src*d : (src+1)*d]
			flip := rng.IntN(2) == 1
			for r := range hw {
				for c := range hw {
					sc := c
					if flip {
						sc = hw - 1 - c
					}
					dst[r*hw+c] = img[r*hw+sc] + 0.3*float32(rng.NormFloat64())
				}
			}
		}
	}
	return Batch{X: tp.Constant(x), V: 2, N: n, Labels: labels}
}

// step runs one training step: loss, backward, optimizer step, after-step. It returns the loss.
func step(tp *autodiff.Tape, m Method, opt optim.Optimizer, b Batch, progress float64) float32 {
	opt.ZeroGrad()
	l := m.Loss(b)
	v := l.Item()
	tp.Backward(l)
	opt.Step()
	m.AfterStep(progress)
	tp.Reset()
	return v
}

// lossOf computes the loss of b without training.
func lossOf(m Method, b Batch) float32 {
	v := m.Loss(b).Item()
	b.X.Tape().Reset()
	return v
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// snapshot copies the values of params.
func snapshot(params []*autodiff.Var) [][]float32 {
	out := make([][]float32, len(params))
	for i, p := range params {
		out[i] = append([]float32(nil), p.Value.Data...)
	}
	return out
}

func allZero(d []float32) bool {
	for _, v := range d {
		if v != 0 {
			return false
		}
	}
	return true
}
