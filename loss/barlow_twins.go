package loss

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/tensor"
)

// BarlowTwinsTerms are the parts of a Barlow Twins loss, for logging.
type BarlowTwinsTerms struct {
	OnDiag  float64        // Σ_i (1 − c_ii)²
	OffDiag float64        // Σ_{i≠j} c_ij², unweighted
	C       *tensor.Tensor // the [D, D] cross-correlation matrix (a copy)
}

// BarlowTwins is the redundancy-reduction loss of Barlow Twins, with BatchNorm's eps = 1e-5.
//
// "Barlow Twins: Self-Supervised Learning via Redundancy Reduction", Zbontar, Jing, Misra,
// LeCun, Deny, 2021 (https://arxiv.org/abs/2103.03230), equation 1. Each input is standardised
// per dimension over the batch, zn = (z − mean) / sqrt(var + eps) with the biased variance (÷N),
// exactly nn.BatchNorm1d(D, affine=False) in training mode as in the official code. Then
//
//	c    = zn1ᵀ·zn2 / N                                  ([D, D] cross-correlation)
//	loss = Σ_i (1 − c_ii)² + λ·Σ_{i≠j} c_ij²
//
// Gradients flow to both inputs through the batch statistics.
//
// Arguments:
//   - z1, z2: [N, D] projections of the two views (N ≥ 2); the gradient flows to both.
//   - lambda: the weight λ of the off-diagonal (redundancy) term; the paper uses 5e-3 (≈ 1/D for
//     its D = 8192 projector).
//
// Usage:
//
//	z1, z2 := model.Forward(view1), model.Forward(view2)
//	l := loss.BarlowTwins(z1, z2, 5e-3)
//	tp.Backward(l)
func BarlowTwins(z1, z2 *autodiff.Var, lambda float32) *autodiff.Var {
	l, _ := BarlowTwinsDetail(z1, z2, lambda, 1e-5)
	return l
}

// BarlowTwinsDetail is BarlowTwins with the standardisation's eps given (eps = 0 is the plain
// biased standard deviation; a dimension constant over the batch then gives Inf/NaN) and the
// loss's parts returned alongside it.
func BarlowTwinsDetail(z1, z2 *autodiff.Var, lambda, eps float32) (*autodiff.Var, BarlowTwinsTerms) {
	n, d := check2D("BarlowTwins", "z1", z1)
	if r, c := check2D("BarlowTwins", "z2", z2); r != n || c != d {
		panic(fmt.Sprintf("loss.BarlowTwins: z1 %v and z2 %v must have the same shape", z1.Shape(), z2.Shape()))
	}
	if n < 2 {
		panic(fmt.Sprintf("loss.BarlowTwins: batch statistics need N ≥ 2 rows, got shape %v", z1.Shape()))
	}
	if !(eps >= 0) {
		panic(fmt.Sprintf("loss.BarlowTwins: eps must be ≥ 0, got %v", eps))
	}
	out := scalarNode("BarlowTwins", z1, z2)
	tp := out.Tape()
	zn1, zn2 := tp.Alloc(false, n, d).Data, tp.Alloc(false, n, d).Data
	s1 := standardize(zn1, z1.Data(), n, d, float64(eps))
	s2 := standardize(zn2, z2.Data(), n, d, float64(eps))
	c := tp.Alloc(false, d, d).Data
	blas.Sgemm(true, false, d, d, n, 1/float32(n), zn1, d, zn2, d, 0, c, d)
	var terms BarlowTwinsTerms
	for i := 0; i < d; i++ {
		for j, v := range c[i*d : (i+1)*d] {
			if i == j {
				terms.OnDiag += (1 - float64(v)) * (1 - float64(v))
			} else {
				terms.OffDiag += float64(v) * float64(v)
			}
		}
	}
	terms.C = tensor.FromSlice(append([]float32(nil), c...), d, d)
	out.Data()[0] = float32(terms.OnDiag + float64(lambda)*terms.OffDiag)

	if out.RequiresGrad() {
		out.SetBackward(func() {
			g := out.Grad.Data[0]
			// G = dL/dc: −2(1 − c_ii) on the diagonal, 2λ·c_ij off it (written over c).
			for i := 0; i < d; i++ {
				row := c[i*d : (i+1)*d]
				for j := range row {
					if i == j {
						row[j] = -2 * g * (1 - row[j])
					} else {
						row[j] = 2 * lambda * g * row[j]
					}
				}
			}
			gzn := tp.Alloc(false, n, d).Data
			if z1.RequiresGrad() { // dzn1 = zn2·Gᵀ / N
				blas.Sgemm(false, true, n, d, d, 1/float32(n), zn2, d, c, d, 0, gzn, d)
				standardizeBackward(z1.GradBuf(), gzn, zn1, s1, n, d)
			}
			if z2.RequiresGrad() { // dzn2 = zn1·G / N
				blas.Sgemm(false, false, n, d, d, 1/float32(n), zn1, d, c, d, 0, gzn, d)
				standardizeBackward(z2.GradBuf(), gzn, zn2, s2, n, d)
			}
		})
	}
	return out, terms
}
