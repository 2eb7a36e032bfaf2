package loss

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// NNCLR is the nearest-neighbour contrastive loss of NNCLR: each view's nearest neighbour in a
// support set is the anchor, and the prediction of the other view is its positive among the
// batch's predictions.
//
// "With a Little Help from My Friends: Nearest-Neighbor Contrastive Learning of Visual
// Representations", Dwibedi, Aytar, Tompson, Sermanet, Zisserman, ICCV 2021
// (https://arxiv.org/abs/2104.14548), equation 2, symmetrised over the two views as in the
// paper's training and VISSL's nnclr_info_nce_loss. With every row L2-normalised
// (x / max(‖x‖₂, 1e-12)),
//
//	ℓ(a, b) = (1/N) Σ_i −log( exp(â_i·b̂_i/τ) / Σ_k exp(â_i·b̂_k/τ) )
//	loss    = ½ ℓ(nn1, p2) + ½ ℓ(nn2, p1)
//
// The softmax of anchor nn_i runs over the N predictions of the other view (the positive on the
// diagonal); the gradient flows to the predictions, the columns of each similarity matrix.
//
// Arguments:
//   - nn1, nn2: [N, D] the support-set nearest neighbours of views 1 and 2's projections.
//     Stop-gradient: constants, given no gradient even when they require one.
//   - p1, p2: [N, D] the predictions of views 1 and 2; the gradient flows to them.
//   - tau: the temperature τ > 0; the paper uses 0.1.
//
// Usage:
//
//	z1, z2 := model.Forward(x1), model.Forward(x2)
//	p1, p2 := model.Predict(z1), model.Predict(z2)
//	l := loss.NNCLR(support.Nearest(z1), support.Nearest(z2), p1, p2, 0.1)
func NNCLR(nn1, nn2, p1, p2 *autodiff.Var, tau float32) *autodiff.Var {
	n, d := check2D("NNCLR", "nn1", nn1)
	for _, x := range []struct {
		name string
		v    *autodiff.Var
	}{{"nn2", nn2}, {"p1", p1}, {"p2", p2}} {
		if r, c := check2D("NNCLR", x.name, x.v); r != n || c != d {
			panic(fmt.Sprintf("loss.NNCLR: nn1 %v and %s %v must have the same shape", nn1.Shape(), x.name, x.v.Shape()))
		}
	}
	if n == 0 {
		panic("loss.NNCLR: empty batch")
	}
	checkTau("NNCLR", tau)
	out := scalarNode("NNCLR", detached(nn1), detached(nn2), p1, p2)
	tp := out.Tape()
	a := columnCE(tp, nn1.Data(), p2.Data(), n, d, tau)
	b := columnCE(tp, nn2.Data(), p1.Data(), n, d, tau)
	out.Data()[0] = float32(0.5 * (a.loss + b.loss))
	if out.RequiresGrad() {
		out.SetBackward(func() {
			g := 0.5 * out.Grad.Data[0]
			if p2.RequiresGrad() {
				a.backward(tp, g, p2.GradBuf())
			}
			if p1.RequiresGrad() {
				b.backward(tp, g, p1.GradBuf())
			}
		})
	}
	return out
}

// columnCEState keeps what the backward pass of one ℓ(a, b) needs.
type columnCEState struct {
	n, d  int
	tau   float32
	ua    []float32 // normalised anchors
	ub, r []float32 // normalised candidates and their norms
	g     []float32 // softmax − identity, [n, n]
	loss  float64
}

// columnCE computes ℓ(a, b) = (1/N) Σ_i −log softmax_i(â_i·b̂ᵀ/τ)_i with a constant.
func columnCE(tp *autodiff.Tape, a, b []float32, n, d int, tau float32) *columnCEState {
	st := &columnCEState{n: n, d: d, tau: tau}
	st.ua = tp.Alloc(false, n, d).Data
	normalizeRows(st.ua, a, n, d, tp.Alloc(false, n).Data)
	st.ub, st.r = tp.Alloc(false, n, d).Data, tp.Alloc(false, n).Data
	normalizeRows(st.ub, b, n, d, st.r)
	st.g = tp.Alloc(false, n, n).Data
	blas.Sgemm(false, true, n, n, d, 1, st.ua, d, st.ub, d, 0, st.g, n)
	inv := 1 / tau
	rowLoss := make([]float64, n)
	parallel.For(n, rowGrain(n), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := st.g[i*n : (i+1)*n]
			pos := row[i]
			lse, _ := softmaxRow(row, -1, inv)
			rowLoss[i] = lse - float64(pos)*float64(inv)
			row[i] -= 1
		}
	})
	for _, v := range rowLoss {
		st.loss += v
	}
	st.loss /= float64(n)
	return st
}

// backward accumulates g·dℓ/db into gb: dℓ/dS = G/(Nτ) with S = â·b̂ᵀ, so dℓ/db̂ = Gᵀ·â/(Nτ),
// then through the normalisation of b.
func (st *columnCEState) backward(tp *autodiff.Tape, g float32, gb []float32) {
	n, d := st.n, st.d
	gub := tp.Alloc(false, n, d).Data
	blas.Sgemm(true, false, n, d, n, g/(float32(n)*st.tau), st.g, n, st.ua, d, 0, gub, d)
	normalizeBackward(gb, gub, st.ub, st.r, n, d)
}
