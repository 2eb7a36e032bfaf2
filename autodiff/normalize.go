package autodiff

import (
	"fmt"

	"github.com/contrastive-go/contrastive/internal/vec"
	"github.com/contrastive-go/contrastive/parallel"
)

// L2Normalize scales each row of x [N,D] to unit Euclidean length (F.normalize(x, dim=1)):
//
//	y[n] = x[n] / max(‖x[n]‖₂, eps)
//
// eps (PyTorch uses 1e-12) keeps all-zero rows finite. Norms accumulate in float64.
// Gradient, for a row whose norm exceeds eps: dx = (dy − y·⟨y, dy⟩)/‖x‖ (the projection of dy
// off y, scaled); for a row clamped at eps the divisor is a constant: dx = dy/eps.
func L2Normalize(x *Var, eps float32) *Var {
	s := x.Shape()
	if len(s) != 2 {
		panic(fmt.Sprintf("autodiff.L2Normalize: input must be [N,D], got shape %v", s))
	}
	if !(eps > 0) {
		panic(fmt.Sprintf("autodiff.L2Normalize: eps must be positive, got %g for shape %v", eps, s))
	}
	n, d := s[0], s[1]
	out := Node("L2Normalize", false, s, x)
	xd, y := x.Data(), out.Data()
	norms := make([]float64, n) // ‖x[n]‖, kept for Backward
	vec.NormalizeRows(y, xd, d, float64(eps), norms)
	if out.requiresGrad {
		out.backward = func() {
			g, gx := out.Grad.Data, x.GradBuf()
			parallel.For(n, reduceGrain(d), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					gr, yr, dst := g[r*d:(r+1)*d], y[r*d:(r+1)*d], gx[r*d:(r+1)*d]
					if norms[r] <= float64(eps) {
						inv := 1 / float64(eps)
						for j, v := range gr {
							dst[j] += float32(float64(v) * inv)
						}
						continue
					}
					var dot float64
					for j, v := range gr {
						dot += float64(v) * float64(yr[j])
					}
					inv := 1 / norms[r]
					for j, v := range gr {
						dst[j] += float32((float64(v) - float64(yr[j])*dot) * inv)
					}
				}
			})
		}
	}
	return out
}
