package loss

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// InfoNCE is MoCo's contrastive loss: each query against its positive key and a queue of
// negative keys.
//
// "Momentum Contrast for Unsupervised Visual Representation Learning", He, Fan, Wu, Xie,
// Girshick, 2020 (https://arxiv.org/abs/1911.05722); the loss is InfoNCE from "Representation
// Learning with Contrastive Predictive Coding", van den Oord, Li, Vinyals, 2018.
//
// All three inputs are L2-normalised row-wise inside (x / max(‖x‖₂, 1e-12)), written q̂, k̂, m̂.
// Row i of k is the positive of row i of q:
//
//	logits_i = [ q̂_i·k̂_i, q̂_i·m̂_0, …, q̂_i·m̂_{K−1} ] / τ      (K+1 logits, the positive first)
//	loss     = (1/N) Σ_i −log softmax(logits_i)[0]                (cross-entropy with target 0)
//
// Arguments:
//   - q: [N, D] queries from the online encoder; the gradient flows to q only.
//   - k: [N, D] keys from the momentum encoder. Stop-gradient: k is treated as a constant and
//     receives no gradient even when it requires one (as MoCo's keys, computed under no_grad).
//   - queue: [K, D] negatives (the memory queue of past keys), also a constant with no gradient;
//     K may be 0, which leaves only the positive and a zero loss.
//   - tau: the temperature τ > 0; MoCo v1 uses 0.07, MoCo v2 0.2.
//
// The logits against the queue are one GEMM; the softmax runs over rows in parallel with the row
// maximum subtracted and float64 sums.
//
// Usage:
//
//	q := online.Forward(view1)
//	k := autodiff.Detach(momentum.Forward(view2))
//	l := loss.InfoNCE(q, k, queue, 0.2) // then enqueue k
func InfoNCE(q, k, queue *autodiff.Var, tau float32) *autodiff.Var {
	n, d := check2D("InfoNCE", "q", q)
	kn, kd := check2D("InfoNCE", "k", k)
	nq, qd := check2D("InfoNCE", "queue", queue)
	if kn != n || kd != d || qd != d {
		panic(fmt.Sprintf("loss.InfoNCE: q %v and k %v must have the same shape, queue %v the same width", q.Shape(), k.Shape(), queue.Shape()))
	}
	if n == 0 {
		panic(fmt.Sprintf("loss.InfoNCE: empty batch, q has shape %v", q.Shape()))
	}
	checkTau("InfoNCE", tau)
	inv := 1 / tau
	w := nq + 1

	out := scalarNode("InfoNCE", q, detached(k), detached(queue))
	tp := out.Tape()
	uq, rq := tp.Alloc(false, n, d).Data, tp.Alloc(false, n).Data
	uk := tp.Alloc(false, n, d).Data
	um := tp.Alloc(false, nq, d).Data
	normalizeRows(uq, q.Data(), n, d, rq)
	normalizeRows(uk, k.Data(), n, d, tp.Alloc(false, n).Data)
	normalizeRows(um, queue.Data(), nq, d, tp.Alloc(false, nq).Data)

	// L[i, 0] = q̂_i·k̂_i, L[i, 1+j] = q̂_i·m̂_j; rows become softmax − one-hot(0).
	l := tp.Alloc(false, n, w).Data
	if nq > 0 {
		blas.Sgemm(false, true, n, nq, d, 1, uq, d, um, d, 0, l[1:], w)
	}
	rowLoss := make([]float64, n)
	parallel.For(n, rowGrain(w+d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := l[i*w : (i+1)*w]
			row[0] = float32(dot64(uq[i*d:(i+1)*d], uk[i*d:(i+1)*d]))
			pos := row[0]
			lse, _ := softmaxRow(row, -1, inv)
			rowLoss[i] = lse - float64(pos)*float64(inv)
			row[0] -= 1
		}
	})
	var total float64
	for _, v := range rowLoss {
		total += v
	}
	out.Data()[0] = float32(total / float64(n))

	if out.RequiresGrad() {
		out.SetBackward(func() {
			// dL/dq̂_i = c·(G_i0·k̂_i + Σ_j G_i,1+j·m̂_j), c = g/(Nτ).
			c := out.Grad.Data[0] * inv / float32(n)
			gu := tp.Alloc(false, n, d).Data
			parallel.For(n, rowGrain(d), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					f := c * l[i*w]
					for j, v := range uk[i*d : (i+1)*d] {
						gu[i*d+j] = f * v
					}
				}
			})
			if nq > 0 {
				blas.Sgemm(false, false, n, d, nq, c, l[1:], w, um, d, 1, gu, d)
			}
			normalizeBackward(q.GradBuf(), gu, uq, rq, n, d)
		})
	}
	return out
}
