package autodiff

import (
	"fmt"

	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// Linear is PyTorch's nn.Linear: for x [N,in], weight w [out,in] and optional bias b [out] (nil
// for none),
//
//	y = x·Wᵀ + b,   y [N,out].
//
// Gradients, with G = dS/dy [N,out]: dx += G·W, dW += Gᵀ·x, db += Σ_n G[n,:].
func Linear(x, w, b *Var) *Var {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || len(ws) != 2 {
		panic(fmt.Sprintf("autodiff.Linear: x must be [N,in] and w [out,in], got x %v, w %v", xs, ws))
	}
	n, in, outF := xs[0], xs[1], ws[0]
	if ws[1] != in {
		panic(fmt.Sprintf("autodiff.Linear: x %v has %d features but w %v expects %d", xs, in, ws, ws[1]))
	}
	if b != nil && (b.Value.Dims() != 1 || b.Shape()[0] != outF) {
		panic(fmt.Sprintf("autodiff.Linear: bias %v must be [%d] for w %v", b.Shape(), outF, ws))
	}
	out := Node("Linear", false, []int{n, outF}, x, w, b)
	y := out.Data()
	if b != nil {
		bv := b.Data()
		for i := 0; i < n; i++ {
			copy(y[i*outF:(i+1)*outF], bv)
		}
	}
	beta := float32(0)
	if b != nil {
		beta = 1
	}
	blas.Sgemm(false, true, n, outF, in, 1, x.Data(), in, w.Data(), in, beta, y, outF)
	if out.requiresGrad {
		out.backward = func() {
			g := out.Grad.Data
			if x.requiresGrad { // dx[N,in] += G[N,out]·W[out,in] (= when dx is fresh)
				gx, fresh := x.GradFresh()
				blas.Sgemm(false, false, n, in, outF, 1, g, outF, w.Data(), in, betaFor(fresh), gx, in)
			}
			if w.requiresGrad { // dW[out,in] += Gᵀ·x
				blas.Sgemm(true, false, outF, in, n, 1, g, outF, x.Data(), in, 1, w.GradBuf(), in)
			}
			if b != nil && b.requiresGrad {
				gb := b.GradBuf()
				parallel.For(outF, 64, func(lo, hi int) {
					for j := lo; j < hi; j++ {
						var s float64
						for i := 0; i < n; i++ {
							s += float64(g[i*outF+j])
						}
						gb[j] += float32(s)
					}
				})
			}
		}
	}
	return out
}

// betaFor is the GEMM beta that accumulates into a gradient buffer, or overwrites a fresh one.
func betaFor(fresh bool) float32 {
	if fresh {
		return 0
	}
	return 1
}
