package autodiff_test

import (
	"math"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/tensor"
)

// TestBatchNormAddReLUEqualsTheTwoOps checks the fused op against BatchNorm followed by AddReLU,
// bit for bit: outputs, running statistics and the gradients of x, γ, β and the shortcut, in
// training and evaluation mode, with the shortcut's gradient fresh (its only use), already
// started (used twice), a constant shortcut, and x itself as the shortcut.
func TestBatchNormAddReLUEqualsTheTwoOps(t *testing.T) {
	for _, shape := range [][]int{{4, 3, 5, 5}, {16, 6}, {2, 2, 3, 3}} {
		for _, training := range []bool{true, false} {
			for _, mode := range []string{"fresh", "used twice", "constant", "x itself"} {
				x0, s0 := gradcheck.Random(1, shape...), gradcheck.Random(8, shape...)
				c := shape[1]
				run := func(fused bool) [][]float32 {
					tp := ad.NewTape()
					x := tp.Variable(x0.Clone())
					var s *ad.Var
					switch mode {
					case "constant":
						s = tp.Constant(s0.Clone())
					case "x itself":
						s = x
					default:
						s = tp.Variable(s0.Clone())
					}
					g := ad.Param(gradcheck.Random(2, c))
					b := ad.Param(gradcheck.Random(3, c))
					rmean, rvar := tensor.New(c), tensor.New(c)
					rvar.Fill(1)
					var out *ad.Var
					if fused {
						out = ad.BatchNormAddReLU(x, g, b, rmean, rvar, training, 0.1, 1e-5, s)
					} else {
						out = ad.AddReLU(ad.BatchNorm(x, g, b, rmean, rvar, training, 0.1, 1e-5), s)
					}
					r := gradcheck.Random(4, shape...)
					loss := ad.SumAll(ad.Mul(out, tp.Constant(r)))
					if mode == "used twice" {
						// s's gradient gets the product's part first (recorded later), then the block's.
						loss = ad.Add(loss, ad.SumAll(ad.Mul(s, tp.Constant(gradcheck.Random(9, shape...)))))
					}
					tp.Backward(loss)
					res := [][]float32{append([]float32(nil), out.Data()...), append([]float32(nil), x.GradBuf()...), g.Grad.Data, b.Grad.Data, rmean.Data, rvar.Data}
					if mode == "fresh" || mode == "used twice" {
						res = append(res, append([]float32(nil), s.GradBuf()...))
					}
					return res
				}
				fused, separate := run(true), run(false)
				names := []string{"output", "dx", "dgamma", "dbeta", "running mean", "running var", "dshort"}
				for k := range fused {
					for i := range fused[k] {
						if math.Float32bits(fused[k][i]) != math.Float32bits(separate[k][i]) {
							t.Errorf("shape %v training %v %s: %s[%d] fused %v, separate %v", shape, training, mode, names[k], i, fused[k][i], separate[k][i])
							break
						}
					}
				}
			}
		}
	}
}

func TestBatchNormAddReLUGradient(t *testing.T) {
	gradcheck.Check(t, "BatchNormAddReLU", func(tp *ad.Tape, in []*ad.Var) *ad.Var {
		return ad.BatchNormAddReLU(in[0], in[1], in[2], nil, nil, true, 0.1, 1e-5, in[3])
	}, []*tensor.Tensor{gradcheck.Random(5, 3, 4, 3, 3), gradcheck.Random(6, 4), gradcheck.Random(7, 4), gradcheck.Random(10, 3, 4, 3, 3)},
		gradcheck.Options{Eps: 1e-3, RTol: 5e-2, ATol: 5e-3})
}
