package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// canonical reorders B blocks of [view 1 (n); view 2 (n)] into NTXent's [all view 1; all view 2].
func canonical(z []float32, blocks, n, d int) []float32 {
	out := make([]float32, 0, len(z))
	for v := range 2 {
		for k := range blocks {
			o := (k*2*n + v*n) * d
			out = append(out, z[o:o+n*d]...)
		}
	}
	return out
}

func TestNTXentGatheredOneBlockIsNTXent(t *testing.T) {
	z := randn(rand.New(rand.NewPCG(1, 2)), 1, 10, 6)
	want, gw := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return NTXent(in[0], 0.5) }, z)
	got, gg := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return NTXentGathered(in[0], 1, 0, 0.5) }, z)
	if math.Abs(got-want) > 1e-6*math.Abs(want) {
		t.Errorf("loss %v, NTXent %v", got, want)
	}
	closeSlices(t, "grad", gg[0], f64(gw[0]), z.Shape)
}

// TestNTXentGatheredBlocksMakeTheGlobalNTXent: the mean over blocks of the per-block losses is
// NTXent of the whole (reordered) batch, and the mean of their gradients its gradient — the
// equivalence data-parallel SimCLR rests on. Per-block NTXent (local negatives) is not.
func TestNTXentGatheredBlocksMakeTheGlobalNTXent(t *testing.T) {
	const blocks, n, d = 3, 4, 5
	rng := rand.New(rand.NewPCG(3, 4))
	z := randn(rng, 1, blocks*2*n, d)
	zc := tensor.FromSlice(canonical(z.Data, blocks, n, d), blocks*2*n, d)
	want, gw := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return NTXent(in[0], 0.3) }, zc)
	var mean, local float64
	sum := make([]float32, z.Numel())
	for k := range blocks {
		l, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return NTXentGathered(in[0], blocks, k, 0.3) }, z)
		mean += l / blocks
		for i, v := range g[0] {
			sum[i] += v / blocks
		}
		own := tensor.FromSlice(append([]float32(nil), z.Data[k*2*n*d:(k+1)*2*n*d]...), 2*n, d)
		lk, _ := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return NTXent(in[0], 0.3) }, own)
		local += lk / blocks
	}
	if math.Abs(mean-want) > 1e-6*math.Abs(want) {
		t.Errorf("mean over blocks %v, global NTXent %v", mean, want)
	}
	if math.Abs(local-want) < 1e-2 {
		t.Errorf("per-block NTXent %v is as close to the global %v: the test cannot tell them apart", local, want)
	}
	closeSlices(t, "mean of the blocks' gradients", canonical(sum, blocks, n, d), f64(gw[0]), zc.Shape)
}

func TestNTXentGatheredGradient(t *testing.T) {
	z := randn(rand.New(rand.NewPCG(5, 6)), 1, 12, 3)
	_, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return NTXentGathered(in[0], 3, 1, 0.4) }, z)
	f := func(x []float64) float64 {
		t32 := tensor.New(12, 3)
		for i, v := range x {
			t32.Data[i] = float32(v)
		}
		l, _ := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return NTXentGathered(in[0], 3, 1, 0.4) }, t32)
		return l
	}
	num := numGrad64(f, f64(z.Data), 1e-3)
	closeSlices(t, "grad vs finite differences", g[0], num, z.Shape)
}

// numGrad64 is numGrad with step h (the loss is evaluated in float32).
func numGrad64(f func(x []float64) float64, x []float64, h float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		o := x[i]
		x[i] = o + h
		up := f(x)
		x[i] = o - h
		down := f(x)
		x[i] = o
		g[i] = (up - down) / (2 * h)
	}
	return g
}
