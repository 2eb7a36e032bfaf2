package autodiff_test

import (
	"math"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/tensor"
)

// TestFreeValuesKeepsGradients runs a small network (convolution, fused BatchNorm+ReLU, a view,
// a residual AddReLU, a value used twice) with and without Tape.FreeValues: the gradients must be
// the same bit for bit, the loss must keep its value, and the recorded values must have been
// handed back (read as empty afterwards).
func TestFreeValuesKeepsGradients(t *testing.T) {
	x := gradcheck.Random(1, 4, 3, 6, 6)
	w1, w2 := gradcheck.Random(2, 8, 3, 3, 3), gradcheck.Random(3, 8, 8, 3, 3)
	gamma, beta := gradcheck.Random(4, 8), gradcheck.Random(5, 8)
	run := func(free bool) (loss float32, grads [][]float32, inner *ad.Var) {
		tp := ad.NewTape()
		tp.FreeValues = free
		params := []*ad.Var{ad.Param(w1), ad.Param(w2), ad.Param(gamma), ad.Param(beta)}
		rm, rv := tensor.New(8), tensor.New(8)
		rv.Fill(1)
		h := ad.Conv2d(tp.Constant(x), params[0], nil, 1, 1)
		h = ad.BatchNormReLU(h, params[2], params[3], rm, rv, true, 0.1, 1e-5)
		inner = h
		y := ad.AddReLU(ad.Conv2d(h, params[1], nil, 1, 1), h) // h used twice
		flat := ad.Reshape(y, 4, -1)
		l := ad.MeanAll(ad.Mul(flat, flat))
		tp.Backward(l)
		for _, p := range params {
			grads = append(grads, p.Grad.Data)
		}
		return l.Item(), grads, inner
	}
	l0, g0, _ := run(false)
	l1, g1, inner := run(true)
	if l0 != l1 || math.IsNaN(float64(l1)) {
		t.Fatalf("loss %v with FreeValues, %v without", l1, l0)
	}
	for i := range g0 {
		for j := range g0[i] {
			if math.Float32bits(g0[i][j]) != math.Float32bits(g1[i][j]) {
				t.Fatalf("param %d grad[%d] = %v with FreeValues, %v without", i, j, g1[i][j], g0[i][j])
			}
		}
	}
	if inner.Value.Data != nil {
		t.Errorf("an intermediate value still holds %d floats after Backward with FreeValues", len(inner.Value.Data))
	}
}
