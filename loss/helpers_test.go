package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

// Tolerances from testvectors/README.md for a float32 implementation.
const (
	lossTol = 1e-4
	gradTol = 1e-4
)

// tensorOf converts a reference tensor to a float32 tensor.
func tensorOf(t testvec.Tensor) *tensor.Tensor { return tensor.FromSlice(t.F32(), t.Shape...) }

// evalGrad runs f on Variables made from xs, backpropagates and returns the loss and the gradients.
func evalGrad(t testing.TB, f func(in []*autodiff.Var) *autodiff.Var, xs ...*tensor.Tensor) (float64, [][]float32) {
	t.Helper()
	tp := autodiff.NewTape()
	defer tp.Reset()
	in := make([]*autodiff.Var, len(xs))
	for i, x := range xs {
		in[i] = tp.Variable(x.Clone())
	}
	l := f(in)
	if got := l.Shape(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("loss has shape %v, want [1]", got)
	}
	loss := float64(l.Item())
	if l.RequiresGrad() {
		tp.Backward(l)
	}
	grads := make([][]float32, len(xs))
	for i, v := range in {
		grads[i] = append([]float32(nil), v.GradBuf()...)
	}
	return loss, grads
}

// randn returns a tensor of standard normal entries times scale.
func randn(rng *rand.Rand, scale float32, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	for i := range x.Data {
		x.Data[i] = scale * float32(rng.NormFloat64())
	}
	return x
}

// f64 converts float32 data to float64.
func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// closeSlices checks float32 gradients against float64 references with the README's rule.
func closeSlices(t testing.TB, name string, got []float32, want []float64, shape []int) {
	t.Helper()
	testvec.Close(t, name, got, testvec.Tensor{Shape: shape, Data: want}, gradTol)
}

// allFinite reports whether every value is finite.
func allFinite(x []float32) bool {
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// maxAbs returns max |x|.
func maxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

// normRows64 L2-normalises rows in float64 with the 1e-12 floor.
func normRows64(x []float64, n, d int) []float64 {
	u := make([]float64, len(x))
	for i := 0; i < n; i++ {
		var s float64
		for j := 0; j < d; j++ {
			s += x[i*d+j] * x[i*d+j]
		}
		r := math.Max(math.Sqrt(s), 1e-12)
		for j := 0; j < d; j++ {
			u[i*d+j] = x[i*d+j] / r
		}
	}
	return u
}

// dotRows returns row i of a times row j of b in float64.
func dotRows(a []float64, i int, b []float64, j, d int) float64 {
	var s float64
	for k := 0; k < d; k++ {
		s += a[i*d+k] * b[j*d+k]
	}
	return s
}

// numGrad returns the central finite-difference gradient of the float64 function f at x.
func numGrad(f func(x []float64) float64, x []float64) []float64 {
	g := make([]float64, len(x))
	const h = 1e-6
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
