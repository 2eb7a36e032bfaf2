package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// dclGatheredOps are DCL and DCLW in their single-process and gathered forms.
var dclGatheredOps = []struct {
	name     string
	whole    func(z *autodiff.Var) *autodiff.Var
	gathered func(z *autodiff.Var, blocks, block int) *autodiff.Var
}{
	{"DCL", func(z *autodiff.Var) *autodiff.Var { return DCL(z, 0.3) },
		func(z *autodiff.Var, b, k int) *autodiff.Var { return DCLGathered(z, b, k, 0.3) }},
	{"DCLW", func(z *autodiff.Var) *autodiff.Var { return DCLW(z, 0.3, 0.5) },
		func(z *autodiff.Var, b, k int) *autodiff.Var { return DCLWGathered(z, b, k, 0.3, 0.5) }},
}

func TestDCLGatheredOneBlockIsDCL(t *testing.T) {
	z := randn(rand.New(rand.NewPCG(1, 2)), 1, 10, 6)
	for _, op := range dclGatheredOps {
		want, gw := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return op.whole(in[0]) }, z)
		got, gg := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return op.gathered(in[0], 1, 0) }, z)
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("%s: loss %v, single-process %v", op.name, got, want)
		}
		closeSlices(t, op.name+" grad", gg[0], f64(gw[0]), z.Shape)
	}
}

// TestDCLGatheredBlocksMakeTheGlobalDCL: the mean over blocks of the per-block losses is DCL
// (DCLW) of the whole reordered batch, and the mean of their gradients its gradient — what
// data-parallel DCL rests on. Per-block DCL (local negatives) is not; nor, for DCLW, are the
// gathered negatives with per-block weights (lightly's gather_distributed).
func TestDCLGatheredBlocksMakeTheGlobalDCL(t *testing.T) {
	const blocks, n, d = 3, 4, 5
	rng := rand.New(rand.NewPCG(3, 4))
	z := randn(rng, 1, blocks*2*n, d)
	zc := tensor.FromSlice(canonical(z.Data, blocks, n, d), blocks*2*n, d)
	for _, op := range dclGatheredOps {
		want, gw := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return op.whole(in[0]) }, zc)
		var mean, local float64
		sum := make([]float32, z.Numel())
		for k := range blocks {
			l, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return op.gathered(in[0], blocks, k) }, z)
			mean += l / blocks
			for i, v := range g[0] {
				sum[i] += v / blocks
			}
			own := tensor.FromSlice(append([]float32(nil), z.Data[k*2*n*d:(k+1)*2*n*d]...), 2*n, d)
			lk, _ := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return op.whole(in[0]) }, own)
			local += lk / blocks
		}
		if math.Abs(mean-want) > 1e-6*math.Abs(want) {
			t.Errorf("%s: mean over blocks %v, global %v", op.name, mean, want)
		}
		if math.Abs(local-want) < 1e-2 {
			t.Errorf("%s: per-block loss %v is as close to the global %v: the test cannot tell them apart", op.name, local, want)
		}
		closeSlices(t, op.name+": mean of the blocks' gradients", canonical(sum, blocks, n, d), f64(gw[0]), zc.Shape)
	}
}

// TestDCLWGatheredWeightsAreGlobal: the weights of DCLWGathered are normalised over every
// block's pairs: per-block weights (each block's own softmax) give another loss.
func TestDCLWGatheredWeightsAreGlobal(t *testing.T) {
	const blocks, n, d = 2, 4, 5
	z := randn(rand.New(rand.NewPCG(9, 10)), 1, blocks*2*n, d)
	zc := tensor.FromSlice(canonical(z.Data, blocks, n, d), blocks*2*n, d)
	want, _ := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return DCLW(in[0], 0.3, 0.1) }, zc)
	dclOnly, _ := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return DCL(in[0], 0.3) }, zc)
	var mean float64
	for k := range blocks {
		l, _ := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return DCLWGathered(in[0], blocks, k, 0.3, 0.1) }, z)
		mean += l / blocks
	}
	if math.Abs(mean-want) > 1e-6*math.Abs(want) {
		t.Errorf("mean over blocks %v, global DCLW %v", mean, want)
	}
	if math.Abs(dclOnly-want) < 1e-3 {
		t.Errorf("DCLW %v is as close to DCL %v: the weights do not matter here", want, dclOnly)
	}
}

// TestDCLGatheredGradient checks DCLGathered's gradient by finite differences. DCLW's weights
// are constants by definition (no gradient through them), so finite differences do not apply
// to it; its gradient is checked against the single-process DCLW's above.
func TestDCLGatheredGradient(t *testing.T) {
	z := randn(rand.New(rand.NewPCG(5, 6)), 1, 12, 3)
	op := func(in []*autodiff.Var) *autodiff.Var { return DCLGathered(in[0], 3, 1, 0.5) }
	_, g := evalGrad(t, op, z)
	f := func(x []float64) float64 {
		t32 := tensor.New(12, 3)
		for i, v := range x {
			t32.Data[i] = float32(v)
		}
		l, _ := evalGrad(t, op, t32)
		return l
	}
	num := numGrad64(f, f64(z.Data), 3e-3)
	closeSlices(t, "grad vs finite differences", g[0], num, z.Shape)
}
