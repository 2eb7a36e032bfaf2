package loss

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/parallel"
)

// NegativeCosine is the BYOL / SimSiam regression loss between a prediction and a target.
//
// "Bootstrap Your Own Latent", Grill et al., 2020 (https://arxiv.org/abs/2006.07733), equation 2;
// "Exploring Simple Siamese Representation Learning", Chen, He, 2021
// (https://arxiv.org/abs/2011.10566). With cos(a, b) = a/max(‖a‖,1e-12) · b/max(‖b‖,1e-12),
//
//	loss = (1/N) Σ_i (2 − 2·cos(p_i, z_i))
//
// which is BYOL's normalised MSE ‖p̂ − ẑ‖². SimSiam's D(p, z) = −cos(p, z) is (loss − 2)/2 of
// this, so both train identically up to a factor. The symmetrised losses are sums of two calls
// with the views swapped: NegativeCosine(p1, z2) + NegativeCosine(p2, z1).
//
// z is stop-gradient: it is treated as a constant and receives no gradient even when it requires
// one (BYOL's target network, SimSiam's stop-grad branch); only p is trained. Without the
// stop-gradient SimSiam collapses.
//
// Arguments:
//   - p: [N, D] predictions of the online branch (predictor output); the gradient flows to p.
//   - z: [N, D] targets (projections of the other view); no gradient.
//
// Usage:
//
//	p1, p2 := pred.Forward(z1), pred.Forward(z2)
//	l := autodiff.Add(loss.NegativeCosine(p1, z2), loss.NegativeCosine(p2, z1))
//	tp.Backward(l)
func NegativeCosine(p, z *autodiff.Var) *autodiff.Var {
	return negativeCosine(p, z, false)
}

// negativeCosine differentiates z too when gradZ is set (the reference vectors give both).
func negativeCosine(p, z *autodiff.Var, gradZ bool) *autodiff.Var {
	n, d := check2D("NegativeCosine", "p", p)
	if r, c := check2D("NegativeCosine", "z", z); r != n || c != d {
		panic(fmt.Sprintf("loss.NegativeCosine: p %v and z %v must have the same shape", p.Shape(), z.Shape()))
	}
	if n == 0 {
		panic("loss.NegativeCosine: empty batch")
	}
	zin := z
	if !gradZ {
		zin = detached(z)
	}
	out := scalarNode("NegativeCosine", p, zin)
	tp := out.Tape()
	up, rp := tp.Alloc(false, n, d).Data, tp.Alloc(false, n).Data
	uz, rz := tp.Alloc(false, n, d).Data, tp.Alloc(false, n).Data
	normalizeRows(up, p.Data(), n, d, rp)
	normalizeRows(uz, z.Data(), n, d, rz)
	var total float64
	for i := 0; i < n; i++ {
		total += 2 - 2*dot64(up[i*d:(i+1)*d], uz[i*d:(i+1)*d])
	}
	out.Data()[0] = float32(total / float64(n))
	if out.RequiresGrad() {
		out.SetBackward(func() {
			// dL/dp̂_i = −(2g/N)·ẑ_i and dL/dẑ_i = −(2g/N)·p̂_i, then through the normalisations.
			c := -2 * out.Grad.Data[0] / float32(n)
			gu := tp.Alloc(false, n, d).Data
			scaled := func(dst, src []float32) {
				parallel.For(len(dst), 1<<15, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						dst[i] = c * src[i]
					}
				})
			}
			if p.RequiresGrad() {
				scaled(gu, uz)
				normalizeBackward(p.GradBuf(), gu, up, rp, n, d)
			}
			if gradZ && z.RequiresGrad() {
				scaled(gu, up)
				normalizeBackward(z.GradBuf(), gu, uz, rz, n, d)
			}
		})
	}
	return out
}
