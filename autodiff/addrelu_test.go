package autodiff_test

import (
	"math"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/tensor"
)

// TestAddReLU checks the fused op against ReLU(Add(a, b)), bit for bit, forward and backward
// (also with a used twice, and with gradients already accumulated), its gradient against
// finite differences, and that NaN propagates.
func TestAddReLU(t *testing.T) {
	a, b := gradcheck.Random(1, 3, 4, 5, 6), gradcheck.Random(2, 3, 4, 5, 6)
	r := gradcheck.Random(3, 3, 4, 5, 6)
	run := func(fused, twice bool) (out, ga, gb []float32) {
		tp := ad.NewTape()
		av, bv := tp.Variable(a), tp.Variable(b)
		f := func(x, y *ad.Var) *ad.Var {
			if fused {
				return ad.AddReLU(x, y)
			}
			return ad.ReLU(ad.Add(x, y))
		}
		o := f(av, bv)
		s := ad.SumAll(ad.Mul(o, tp.Constant(r)))
		if twice { // a reaches the loss twice: the second gradient adds to the first
			s = ad.Add(s, ad.SumAll(f(av, av)))
		}
		tp.Backward(s)
		return o.Data(), av.Grad.Data, bv.Grad.Data
	}
	for _, twice := range []bool{false, true} {
		wo, wa, wb := run(false, twice)
		go_, ga, gb := run(true, twice)
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"out", go_, wo}, {"grad a", ga, wa}, {"grad b", gb, wb}} {
			for i := range c.want {
				if math.Float32bits(c.got[i]) != math.Float32bits(c.want[i]) {
					t.Fatalf("twice=%v: %s[%d] = %v, ReLU(Add) gives %v", twice, c.name, i, c.got[i], c.want[i])
				}
			}
		}
	}
	for i := range b.Data { // keep a + b away from the kink, where differences straddle it
		if math.Abs(float64(a.Data[i]+b.Data[i])) < 0.05 {
			b.Data[i] += 0.1
		}
	}
	gradcheck.Check(t, "AddReLU", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.AddReLU(in[0], in[1]) },
		[]*tensor.Tensor{a, b}, gradcheck.Options{})
	tp := ad.NewTape()
	x := tensor.New(2)
	x.Data[0] = float32(math.NaN())
	x.Data[1] = -1
	if o := ad.AddReLU(tp.Constant(x), tp.Constant(tensor.New(2))).Data(); !math.IsNaN(float64(o[0])) || o[1] != 0 {
		t.Errorf("AddReLU(NaN, -1) = %v, want [NaN 0]", o)
	}
}
