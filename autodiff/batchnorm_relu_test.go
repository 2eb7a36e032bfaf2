package autodiff_test

import (
	"math"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/tensor"
)

// TestBatchNormReLUEqualsTheTwoOps checks the fused op against BatchNorm followed by ReLU: the
// same outputs, running statistics and gradients, in training and evaluation mode.
func TestBatchNormReLUEqualsTheTwoOps(t *testing.T) {
	for _, shape := range [][]int{{4, 3, 5, 5}, {16, 6}, {1, 2, 3, 3}} {
		for _, training := range []bool{true, false} {
			x0 := gradcheck.Random(1, shape...)
			c := shape[1]
			run := func(fused bool) (y, gx, gg, gb, rm []float32) {
				tp := ad.NewTape()
				x := tp.Variable(x0.Clone())
				g := ad.Param(gradcheck.Random(2, c))
				b := ad.Param(gradcheck.Random(3, c))
				rmean, rvar := tensor.New(c), tensor.New(c)
				rvar.Fill(1)
				var out *ad.Var
				if fused {
					out = ad.BatchNormReLU(x, g, b, rmean, rvar, training, 0.1, 1e-5)
				} else {
					out = ad.ReLU(ad.BatchNorm(x, g, b, rmean, rvar, training, 0.1, 1e-5))
				}
				r := gradcheck.Random(4, shape...)
				tp.Backward(ad.SumAll(ad.Mul(out, tp.Constant(r))))
				return append([]float32(nil), out.Data()...), append([]float32(nil), x.GradBuf()...), g.Grad.Data, b.Grad.Data, rmean.Data
			}
			y1, gx1, gg1, gb1, rm1 := run(true)
			y2, gx2, gg2, gb2, rm2 := run(false)
			for _, p := range []struct {
				name string
				a, b []float32
			}{{"output", y1, y2}, {"dx", gx1, gx2}, {"dgamma", gg1, gg2}, {"dbeta", gb1, gb2}, {"running mean", rm1, rm2}} {
				for i := range p.a {
					if d := math.Abs(float64(p.a[i] - p.b[i])); d > 1e-5*math.Max(1, math.Abs(float64(p.b[i]))) {
						t.Errorf("shape %v training %v: %s[%d] fused %v, separate %v", shape, training, p.name, i, p.a[i], p.b[i])
						break
					}
				}
			}
		}
	}
}

func TestBatchNormReLUGradient(t *testing.T) {
	gradcheck.Check(t, "BatchNormReLU", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
		return ad.BatchNormReLU(in[0], in[1], in[2], nil, nil, true, 0.1, 1e-5)
	}, []*tensor.Tensor{gradcheck.Random(5, 3, 4, 3, 3), gradcheck.Random(6, 4), gradcheck.Random(7, 4)}, gradcheck.Options{Eps: 1e-3, RTol: 5e-2, ATol: 5e-3})
}
