package autodiff

import (
	"fmt"

	"github.com/contrastive-go/contrastive/blas"
)

// MatMul returns op(a)·op(b) for 2-D a and b, where op transposes when the flag is set:
// a is [m,k] (or [k,m] with transA), b is [k,n] (or [n,k] with transB), the result is [m,n].
//
// Gradients: dA = dC·op(B)ᵀ (transposed back when transA), dB = op(A)ᵀ·dC (likewise).
func MatMul(a, b *Var, transA, transB bool) *Var {
	if a.Value.Dims() != 2 || b.Value.Dims() != 2 {
		panic(fmt.Sprintf("autodiff.MatMul: operands must be 2-D, got %v and %v", a.Shape(), b.Shape()))
	}
	m, k := a.Shape()[0], a.Shape()[1]
	if transA {
		m, k = k, m
	}
	k2, n := b.Shape()[0], b.Shape()[1]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		panic(fmt.Sprintf("autodiff.MatMul: inner sizes differ: %v (transA=%v) and %v (transB=%v)", a.Shape(), transA, b.Shape(), transB))
	}
	out := Node("MatMul", false, []int{m, n}, a, b)
	lda, ldb := a.Shape()[1], b.Shape()[1]
	blas.Sgemm(transA, transB, m, n, k, 1, a.Data(), lda, b.Data(), ldb, 0, out.Data(), n)
	if out.requiresGrad {
		out.backward = func() {
			g := out.Grad.Data
			if a.requiresGrad {
				ga, fresh := a.GradFresh()
				if !transA { // dA[m,k] += G[m,n]·op(B)ᵀ
					blas.Sgemm(false, !transB, m, k, n, 1, g, n, b.Data(), ldb, betaFor(fresh), ga, lda)
				} else { // A is [k,m]: dA += op(B)·Gᵀ
					blas.Sgemm(transB, true, k, m, n, 1, b.Data(), ldb, g, n, betaFor(fresh), ga, lda)
				}
			}
			if b.requiresGrad {
				if !transB { // dB[k,n] += op(A)ᵀ·G
					blas.Sgemm(!transA, false, k, n, m, 1, a.Data(), lda, g, n, 1, b.GradBuf(), ldb)
				} else { // B is [n,k]: dB += Gᵀ·op(A)
					blas.Sgemm(true, transA, n, k, m, 1, g, n, a.Data(), lda, 1, b.GradBuf(), ldb)
				}
			}
		}
	}
	return out
}
