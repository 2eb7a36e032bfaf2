package loss

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// SupCon is the supervised contrastive loss, the L_out ("outside the log") form.
//
// "Supervised Contrastive Learning", Khosla, Teterwak, Wang, Sarna, Tian, Isola, Maschinot, Liu,
// Krishnan, 2020 (https://arxiv.org/abs/2004.11362), equation 2.
//
// z holds V views of N samples in the NT-Xent arrangement: row a is view ⌊a/N⌋ of sample a mod N,
// so for V = 2 rows i and i+N are the two views of sample i; its label is labels[a mod N]. With
// u_a = z_a / max(‖z_a‖₂, 1e-12), s_ab = u_a·u_b, A(a) = every row b ≠ a and
// P(a) = {p ∈ A(a) : label(p) = label(a)},
//
//	l_a  = −(τ/τ_base) · (1/|P(a)|) Σ_{p∈P(a)} log( exp(s_ap/τ) / Σ_{b∈A(a)} exp(s_ab/τ) )
//	loss = mean of l_a over the anchors with |P(a)| > 0
//
// With V ≥ 2 every anchor has a positive (its other views), so the mean is over all V·N anchors
// and an anchor whose label is unique in the batch contributes exactly its NT-Xent term; with
// labels all distinct and V = 2, SupCon equals NTXent. With V = 1 (z [N, D], one view) an anchor
// whose label appears nowhere else has no positive: it contributes 0 and is left out of the mean
// (the reference code divides 0 by 0 there). If no anchor has a positive the loss is 0.
//
// Arguments:
//   - z: [V·N, D] projections (not normalised); the gradient flows to z.
//   - labels: [N] class labels, compared only for equality; len(z) must be a multiple of N.
//   - tau: the temperature τ > 0 (the paper's default 0.07; 0.1 is also common).
//   - baseTau: τ_base, the reference code's base_temperature; the loss is scaled by τ/τ_base.
//     Pass baseTau = tau (or 0, which means the same) for the plain L_out of the paper and of the
//     test vectors; the reference code's defaults are tau = baseTau = 0.07.
//
// Usage:
//
//	z := model.Forward(append(view1, view2...)) // [2N, D]
//	l := loss.SupCon(z, labels, 0.1, 0.1)
//	tp.Backward(l)
func SupCon(z *autodiff.Var, labels []int, tau, baseTau float32) *autodiff.Var {
	m, d := check2D("SupCon", "z", z)
	n := len(labels)
	if n == 0 || m == 0 || m%n != 0 {
		panic(fmt.Sprintf("loss.SupCon: z %v must hold V ≥ 1 views of the %d labelled samples (rows a multiple of %d)", z.Shape(), n, n))
	}
	checkTau("SupCon", tau)
	if baseTau == 0 {
		baseTau = tau
	}
	checkTau("SupCon (baseTau)", baseTau)
	inv := 1 / tau
	lab := make([]int, m)
	for a := range lab {
		lab[a] = labels[a%n]
	}

	out := scalarNode("SupCon", z)
	tp := out.Tape()
	u, r := tp.Alloc(false, m, d).Data, tp.Alloc(false, m).Data
	normalizeRows(u, z.Data(), m, d, r)
	// s = u·uᵀ; rows become softmax − (1/|P(a)|)·1[P(a)] (zero for anchors without positive).
	s := tp.Alloc(false, m, m).Data
	blas.Sgemm(false, true, m, m, d, 1, u, d, u, d, 0, s, m)
	rowLoss := make([]float64, m)
	has := make([]bool, m)
	parallel.For(m, rowGrain(m), func(lo, hi int) {
		for a := lo; a < hi; a++ {
			row := s[a*m : (a+1)*m]
			var cnt int
			var sumPos float64
			for b, v := range row {
				if b != a && lab[b] == lab[a] {
					cnt++
					sumPos += float64(v)
				}
			}
			if cnt == 0 {
				clear(row)
				continue
			}
			lse, _ := softmaxRow(row, a, inv)
			rowLoss[a] = lse - sumPos*float64(inv)/float64(cnt)
			has[a] = true
			w := float32(1 / float64(cnt))
			for b := range row {
				if b != a && lab[b] == lab[a] {
					row[b] -= w
				}
			}
		}
	})
	var total float64
	valid := 0
	for a, v := range rowLoss {
		if has[a] {
			total += v
			valid++
		}
	}
	scale := float64(tau) / float64(baseTau)
	if valid > 0 {
		out.Data()[0] = float32(scale * total / float64(valid))
	} else {
		out.Data()[0] = 0
	}

	if out.RequiresGrad() && valid > 0 {
		out.SetBackward(func() {
			// dL/ds_ab = c·G_ab with c = g·(τ/τ_base)/(valid·τ); dL/du = c·(G + Gᵀ)·u.
			c := out.Grad.Data[0] * float32(scale) * inv / float32(valid)
			gu := tp.Alloc(false, m, d).Data
			symmetrize(s, m, m)
			blas.Sgemm(false, false, m, d, m, c, s, m, u, d, 0, gu, d)
			normalizeBackward(z.GradBuf(), gu, u, r, m, d)
		})
	}
	return out
}
