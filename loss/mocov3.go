package loss

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// MoCoV3 is the symmetric in-batch contrastive loss of MoCo v3.
//
// "An Empirical Study of Training Self-Supervised Vision Transformers", Chen, Xie, He, 2021
// (https://arxiv.org/abs/2104.02057), Algorithm 1. With every row L2-normalised
// (x / max(‖x‖₂, 1e-12)),
//
//	ctr(q, k) = 2τ · (1/N) Σ_i −log( exp(q̂_i·k̂_i/τ) / Σ_j exp(q̂_i·k̂_j/τ) )
//	loss      = ctr(q1, k2) + ctr(q2, k1)
//
// the keys of the other samples in the batch being the negatives (the positive is on the
// diagonal). The 2τ factor is the paper's: it makes the gradient scale independent of τ.
//
// Arguments:
//   - q1, q2: [N, D] predictions of the online encoder for views 1 and 2; the gradient flows to them.
//   - k1, k2: [N, D] outputs of the momentum encoder for views 1 and 2. Stop-gradient: treated as
//     constants and given no gradient even when they require one.
//   - tau: the temperature τ > 0; the paper uses 0.2 (ViT) and 1.0 (ResNet-50).
//
// Usage:
//
//	q1, q2 := pred.Forward(online.Forward(x1)), pred.Forward(online.Forward(x2))
//	k1, k2 := momentum.Forward(x1), momentum.Forward(x2)
//	l := loss.MoCoV3(q1, q2, k1, k2, 0.2)
func MoCoV3(q1, q2, k1, k2 *autodiff.Var, tau float32) *autodiff.Var {
	n, d := check2D("MoCoV3", "q1", q1)
	for _, x := range []struct {
		name string
		v    *autodiff.Var
	}{{"q2", q2}, {"k1", k1}, {"k2", k2}} {
		if r, c := check2D("MoCoV3", x.name, x.v); r != n || c != d {
			panic(fmt.Sprintf("loss.MoCoV3: q1 %v and %s %v must have the same shape", q1.Shape(), x.name, x.v.Shape()))
		}
	}
	if n == 0 {
		panic("loss.MoCoV3: empty batch")
	}
	checkTau("MoCoV3", tau)
	out := scalarNode("MoCoV3", q1, q2, detached(k1), detached(k2))
	tp := out.Tape()
	a := ctrForward(tp, q1.Data(), k2.Data(), n, d, tau)
	b := ctrForward(tp, q2.Data(), k1.Data(), n, d, tau)
	out.Data()[0] = float32(a.loss + b.loss)
	if out.RequiresGrad() {
		out.SetBackward(func() {
			g := out.Grad.Data[0]
			if q1.RequiresGrad() {
				a.backward(tp, g, q1.GradBuf())
			}
			if q2.RequiresGrad() {
				b.backward(tp, g, q2.GradBuf())
			}
		})
	}
	return out
}

// ctr holds one direction of MoCoV3: normalised rows and softmax − I of the logits.
type ctr struct {
	n, d   int
	uq, rq []float32
	uk, g  []float32
	loss   float64
}

// ctrForward computes 2τ·mean CE(q̂·k̂ᵀ/τ, diagonal) and keeps what the backward needs.
func ctrForward(tp *autodiff.Tape, q, k []float32, n, d int, tau float32) *ctr {
	c := &ctr{n: n, d: d}
	c.uq, c.rq = tp.Alloc(false, n, d).Data, tp.Alloc(false, n).Data
	c.uk = tp.Alloc(false, n, d).Data
	normalizeRows(c.uq, q, n, d, c.rq)
	normalizeRows(c.uk, k, n, d, tp.Alloc(false, n).Data)
	c.g = tp.Alloc(false, n, n).Data
	blas.Sgemm(false, true, n, n, d, 1, c.uq, d, c.uk, d, 0, c.g, n)
	inv := 1 / tau
	rowLoss := make([]float64, n)
	parallel.For(n, rowGrain(n), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := c.g[i*n : (i+1)*n]
			pos := row[i]
			lse, _ := softmaxRow(row, -1, inv)
			rowLoss[i] = lse - float64(pos)*float64(inv)
			row[i] -= 1
		}
	})
	var total float64
	for _, v := range rowLoss {
		total += v
	}
	c.loss = 2 * float64(tau) * total / float64(n)
	return c
}

// backward accumulates g·d(ctr)/dq into gq: dq̂ = (2τ/(Nτ))·G·k̂ = (2/N)·G·k̂.
func (c *ctr) backward(tp *autodiff.Tape, g float32, gq []float32) {
	gu := tp.Alloc(false, c.n, c.d).Data
	blas.Sgemm(false, false, c.n, c.d, c.n, 2*g/float32(c.n), c.g, c.n, c.uk, c.d, 0, gu, c.d)
	normalizeBackward(gq, gu, c.uq, c.rq, c.n, c.d)
}
