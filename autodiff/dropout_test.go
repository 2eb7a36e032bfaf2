package autodiff_test

import (
	"math"
	"math/rand/v2"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

func TestDropoutGradient(t *testing.T) {
	// A fresh rng with a fixed seed per evaluation gives the same mask every time.
	runGradCases(t, []gradCase{
		{"Dropout", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			return ad.Dropout(in[0], 0.3, rand.New(rand.NewPCG(1, 2)), true)
		}, []*tensor.Tensor{rnd(1, 6, 7)}},
	})
}

func TestDropoutBehaviour(t *testing.T) {
	ones := func(n int) *tensor.Tensor {
		x := tensor.New(n)
		x.Fill(1)
		return x
	}
	cases := []struct {
		name     string
		p        float32
		training bool
		wantZero float64 // expected fraction of zeros
		identity bool
	}{
		{"EvalIsIdentity", 0.5, false, 0, true},
		{"PZeroIsIdentity", 0, true, 0, true},
		{"Half", 0.5, true, 0.5, false},
		{"Tenth", 0.1, true, 0.1, false},
		{"POne", 1, true, 1, false},
	}
	const n = 100000
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := ad.NewTape()
			x := tp.Variable(ones(n))
			y := ad.Dropout(x, c.p, rand.New(rand.NewPCG(7, 8)), c.training)
			if c.identity {
				if y != x {
					t.Fatal("identity dropout must return its input")
				}
				return
			}
			zeros, sum := 0, 0.0
			for _, v := range y.Data() {
				if v == 0 {
					zeros++
				} else if math.Abs(float64(v)-1/(1-float64(c.p))) > 1e-6 {
					t.Fatalf("survivor scaled to %v, want 1/(1-p)", v)
				}
				sum += float64(v)
			}
			if f := float64(zeros) / n; math.Abs(f-c.wantZero) > 0.01 {
				t.Errorf("zero fraction %v, want %v", f, c.wantZero)
			}
			if c.p < 1 && math.Abs(sum/n-1) > 0.02 {
				t.Errorf("mean %v, want 1 (inverted dropout keeps the expectation)", sum/n)
			}
			tp.Backward(ad.SumAll(y))
			for i, g := range x.Grad.Data {
				if g != y.Data()[i] { // x is all ones, so dy/dx is the mask
					t.Fatalf("grad[%d] = %v, want the mask %v", i, g, y.Data()[i])
				}
			}
		})
	}
	tp := ad.NewTape()
	x := tp.Constant(tensor.New(2, 3))
	expectPanic(t, "p>1", func() { ad.Dropout(x, 1.5, rand.New(rand.NewPCG(1, 1)), true) }, "Dropout", "[2 3]")
	expectPanic(t, "p<0", func() { ad.Dropout(x, -0.1, rand.New(rand.NewPCG(1, 1)), true) }, "Dropout", "[2 3]")
	expectPanic(t, "nil rng", func() { ad.Dropout(x, 0.5, nil, true) }, "Dropout", "rng")
}
