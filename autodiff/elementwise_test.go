package autodiff_test

import (
	"math"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

func TestElementwiseGradients(t *testing.T) {
	un := func(f func(*ad.Var) *ad.Var) func(*ad.Tape, []*ad.Var) *ad.Var {
		return func(tp *ad.Tape, in []*ad.Var) *ad.Var { return f(in[0]) }
	}
	runGradCases(t, []gradCase{
		{"Exp", un(ad.Exp), []*tensor.Tensor{rnd(1, 3, 4)}},
		{"Log", un(ad.Log), []*tensor.Tensor{positive(2, 3, 4)}},
		{"Sqrt", un(ad.Sqrt), []*tensor.Tensor{positive(3, 5)}},
		{"Square", un(ad.Square), []*tensor.Tensor{rnd(4, 2, 3, 2)}},
		{"GELU", un(ad.GELU), []*tensor.Tensor{rnd(5, 4, 6)}},
		{"GELUSize1", un(ad.GELU), []*tensor.Tensor{rnd(6, 1, 1)}},
		{"LogOfExpUsedTwice", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			return ad.Mul(ad.Log(ad.Add(ad.Exp(in[0]), ad.Square(in[0]))), in[0])
		}, []*tensor.Tensor{rnd(7, 3, 3)}},
	})
}

func TestElementwiseValues(t *testing.T) {
	x := []float32{-3, -1, -0.5, 0, 0.5, 1, 2, 3}
	cases := []struct {
		name string
		f    func(*ad.Var) *ad.Var
		ref  func(float64) float64
		in   []float32
	}{
		{"Exp", ad.Exp, math.Exp, x},
		{"Log", ad.Log, math.Log, []float32{1e-3, 0.5, 1, 2, 1e4}},
		{"Sqrt", ad.Sqrt, math.Sqrt, []float32{0, 1e-6, 0.25, 2, 9}},
		{"Square", ad.Square, func(v float64) float64 { return v * v }, x},
		// Reference values of torch.nn.functional.gelu (approximate='none') via Φ written with erfc.
		{"GELU", ad.GELU, func(v float64) float64 { return v * 0.5 * math.Erfc(-v/math.Sqrt2) }, x},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := ad.NewTape()
			y := c.f(tp.Constant(tensor.FromSlice(append([]float32(nil), c.in...), len(c.in))))
			want := make([]float32, len(c.in))
			for i, v := range c.in {
				want[i] = float32(c.ref(float64(v)))
			}
			closeSlices(t, c.name, y.Data(), want, 1e-6)
		})
	}
	// Known GELU values (PyTorch): gelu(1) = 0.8413447, gelu(-1) = -0.1586553.
	tp := ad.NewTape()
	y := ad.GELU(tp.Constant(tensor.FromSlice([]float32{1, -1}, 2)))
	closeSlices(t, "GELU known", y.Data(), []float32{0.8413447, -0.1586553}, 1e-6)
}
