package autodiff_test

import (
	"math"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

func TestL2NormalizeMatchesPyTorch(t *testing.T) {
	vecs := loadGeneralOpVectors(t).L2Normalize.Cases
	if len(vecs) == 0 {
		t.Fatal("no l2_normalize cases in testdata/ops.json")
	}
	for _, c := range vecs {
		t.Run(c.Name, func(t *testing.T) {
			tp := ad.NewTape()
			x := tp.Variable(vecTensor(c.X))
			y := ad.L2Normalize(x, 1e-12)
			testvec.Close(t, "output", y.Data(), c.Output, 1e-4)
			tp.Backward(ad.SumAll(ad.Mul(y, tp.Constant(vecTensor(c.R)))))
			// Rows differ in norm by 1e6 and the gradient scales as 1/‖x‖, so the README's rule
			// (relative to the largest entry) is applied row by row: globally, the small-norm row's
			// huge gradient would make any error in the other rows pass.
			d := c.X.Shape[1]
			for r := 0; r < c.X.Shape[0]; r++ {
				want := testvec.Tensor{Shape: []int{d}, Data: c.GradX.Data[r*d : (r+1)*d]}
				testvec.Close(t, "grad_x row", x.Grad.Data[r*d:(r+1)*d], want, 1e-4)
			}
		})
	}
}

func TestL2NormalizeGradients(t *testing.T) {
	runGradCases(t, []gradCase{
		{"Rows", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.L2Normalize(in[0], 1e-12) },
			[]*tensor.Tensor{rnd(1, 4, 5)}},
		{"OneColumn", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.L2Normalize(in[0], 1e-12) },
			[]*tensor.Tensor{tensor.FromSlice([]float32{2, -3, 0.5}, 3, 1)}},
		{"CosineSimilarityUsedTwice", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
			z := ad.L2Normalize(in[0], 1e-12)
			return ad.MatMul(z, z, false, true)
		}, []*tensor.Tensor{rnd(2, 3, 4)}},
		{"ClampedRow", func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.L2Normalize(in[0], 10) },
			[]*tensor.Tensor{rnd(3, 2, 3)}},
	})
}

func TestL2NormalizeValues(t *testing.T) {
	tp := ad.NewTape()
	x := tp.Variable(tensor.FromSlice([]float32{3, 4, 0, 0, 1e-20, 0}, 3, 2))
	y := ad.L2Normalize(x, 1e-12)
	closeSlices(t, "y", y.Data(), []float32{0.6, 0.8, 0, 0, 1e-8, 0}, 1e-6)
	tp.Backward(ad.SumAll(y))
	for i, g := range x.Grad.Data {
		if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
			t.Fatalf("grad[%d] = %v: a zero row must give a finite gradient", i, g)
		}
	}
	// Row 0: d/dx Σ y = (1 − y·Σy)/‖x‖ = (1 − 1.4·y)/5.
	closeSlices(t, "grad row 0", x.Grad.Data[:2], []float32{(1 - 1.4*0.6) / 5, (1 - 1.4*0.8) / 5}, 1e-6)
	expectPanic(t, "3-D", func() { ad.L2Normalize(tp.Constant(tensor.New(2, 3, 4)), 1e-12) }, "L2Normalize", "[2 3 4]")
	expectPanic(t, "eps", func() { ad.L2Normalize(x, 0) }, "L2Normalize", "eps")
}
