package autodiff_test

import (
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

func TestLinearMatchesPyTorch(t *testing.T) {
	for _, c := range opCases(t, "linear") {
		t.Run(c.name(), func(t *testing.T) {
			tp := ad.NewTape()
			x := tp.Variable(c.t32(t, "x"))
			w := ad.Param(c.t32(t, "weight"))
			var b *ad.Var
			if c.has("bias") {
				b = ad.Param(c.t32(t, "bias"))
			}
			out := ad.Linear(x, w, b)
			testvec.Close(t, "output", out.Data(), c.tensor(t, "output"), tol32)
			backwardWithR(tp, out, c.t32(t, "R"))
			testvec.Close(t, "grad_x", x.Grad.Data, c.tensor(t, "grad_x"), tol32)
			testvec.Close(t, "grad_weight", w.Grad.Data, c.tensor(t, "grad_weight"), tol32)
			if b != nil {
				testvec.Close(t, "grad_bias", b.Grad.Data, c.tensor(t, "grad_bias"), tol32)
			}
		})
	}
}

func TestLinearGradients(t *testing.T) {
	cases := []struct {
		name       string
		n, in, out int
		bias       bool
	}{
		{"bias", 4, 6, 3, true},
		{"nobias", 3, 5, 7, false},
		{"batch1", 1, 4, 2, true},
		{"wide", 5, 33, 17, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inputs := []*tensor.Tensor{gradcheck.Random(uint64(i+1), c.n, c.in), gradcheck.Random(uint64(i+2), c.out, c.in)}
			if c.bias {
				inputs = append(inputs, gradcheck.Random(uint64(i+3), c.out))
			}
			f := func(tp *ad.Tape, in []*ad.Var) *ad.Var {
				var b *ad.Var
				if c.bias {
					b = in[2]
				}
				return ad.Linear(in[0], in[1], b)
			}
			gradcheck.Check(t, c.name, f, inputs, gradcheck.Options{Seed: uint64(i)})
		})
	}
}

// TestLinearUsesPyTorchLayout pins y = x·Wᵀ + b with W [out,in] on a hand-computed case.
func TestLinearUsesPyTorchLayout(t *testing.T) {
	tp := ad.NewTape()
	x := tp.Constant(tensor.FromSlice([]float32{1, 2, 3}, 1, 3))
	w := tp.Constant(tensor.FromSlice([]float32{1, 0, 0, 0, 1, 1}, 2, 3))
	b := tp.Constant(tensor.FromSlice([]float32{10, 20}, 2))
	if got := ad.Linear(x, w, b).Data(); got[0] != 11 || got[1] != 25 {
		t.Errorf("Linear = %v, want [11 25]", got)
	}
}
