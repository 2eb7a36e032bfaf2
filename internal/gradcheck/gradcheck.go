// Package gradcheck compares analytic gradients with central finite differences.
package gradcheck

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// Options tune a check. Zero values pick defaults: Eps 1e-2, RTol 2e-2, ATol 1e-3, 64 probes per input.
type Options struct {
	Eps, RTol, ATol float64
	Probes          int    // elements probed per input (all when the input is smaller)
	Seed            uint64 // for R and the probe positions
	Skip            []bool // inputs (by position) that are not checked
}

// Fn builds the computation from the inputs on tp and returns its output (any shape).
type Fn func(tp *autodiff.Tape, in []*autodiff.Var) *autodiff.Var

// Check differentiates S = sum(f(in) ⊙ R), with R a fixed random tensor, analytically and by
// central differences at each probed element of each input, and fails t on disagreement.
func Check(t testing.TB, name string, f Fn, inputs []*tensor.Tensor, o Options) {
	t.Helper()
	if o.Eps == 0 {
		o.Eps = 1e-2
	}
	if o.RTol == 0 {
		o.RTol = 2e-2
	}
	if o.ATol == 0 {
		o.ATol = 1e-3
	}
	if o.Probes == 0 {
		o.Probes = 64
	}
	rng := rand.New(rand.NewPCG(o.Seed, 99))

	// Analytic.
	tp := autodiff.NewTape()
	vars := make([]*autodiff.Var, len(inputs))
	for i, x := range inputs {
		vars[i] = tp.Variable(x.Clone())
	}
	out := f(tp, vars)
	r := tensor.New(out.Shape()...)
	for i := range r.Data {
		r.Data[i] = float32(rng.NormFloat64())
	}
	s := autodiff.SumAll(autodiff.Mul(out, tp.Constant(r)))
	tp.Backward(s)
	grads := make([][]float32, len(inputs))
	for i, v := range vars {
		grads[i] = append([]float32(nil), v.GradBuf()...)
	}
	tp.Reset()

	eval := func(xs []*tensor.Tensor) float64 {
		tp := autodiff.NewTape()
		tp.NoGrad = true
		in := make([]*autodiff.Var, len(xs))
		for i, x := range xs {
			in[i] = tp.Constant(x)
		}
		y := f(tp, in)
		var acc float64
		for i, v := range y.Data() {
			acc += float64(v) * float64(r.Data[i])
		}
		tp.Reset()
		return acc
	}
	xs := make([]*tensor.Tensor, len(inputs))
	for i, x := range inputs {
		xs[i] = x.Clone()
	}
	for i := range inputs {
		if i < len(o.Skip) && o.Skip[i] {
			continue
		}
		n := xs[i].Numel()
		probes := make([]int, 0, o.Probes)
		if n <= o.Probes {
			for j := 0; j < n; j++ {
				probes = append(probes, j)
			}
		} else {
			for j := 0; j < o.Probes; j++ {
				probes = append(probes, rng.IntN(n))
			}
		}
		for _, j := range probes {
			orig := xs[i].Data[j]
			xs[i].Data[j] = orig + float32(o.Eps)
			up := eval(xs)
			xs[i].Data[j] = orig - float32(o.Eps)
			down := eval(xs)
			xs[i].Data[j] = orig
			num := (up - down) / (2 * o.Eps)
			got := float64(grads[i][j])
			if d := math.Abs(got - num); !(d <= o.ATol+o.RTol*math.Max(math.Abs(got), math.Abs(num))) {
				t.Errorf("%s: d/d input%d[%d]: analytic %.6g, numeric %.6g", name, i, j, got, num)
				return
			}
		}
	}
}

// Random returns a tensor of the given shape with standard normal entries from seed.
func Random(seed uint64, shape ...int) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t
}
