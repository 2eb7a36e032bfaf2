package loss

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// NTXentGathered is NT-Xent for data-parallel training: one rank's share of the loss of the
// global batch, its own anchors against every rank's rows.
//
// z holds B blocks of 2n rows, block k being rank k's projections in NTXent's arrangement (rows
// i and i+n of a block are the two views of one sample) — what autodiff.AllGather returns. The
// anchors are the 2n rows of block k = block; anchor a's positive is the other view in its
// block, and its denominator runs over all 2nB − 1 other rows of z:
//
//	l_a  = −log( exp(s_{a,p(a)}/τ) / Σ_{b≠a} exp(s_ab/τ) ),   s_ab = cos(z_a, z_b)
//	loss = (1/2n) Σ_{a ∈ block} l_a
//
// So the mean over the B blocks of NTXentGathered is NTXent of the 2nB rows (the global batch:
// every anchor sees every other row as a negative), and the mean of their gradients is NTXent's
// gradient (what averaging the ranks' gradients computes); each rank computes a 2n × 2nB similarity block instead of the whole matrix. The
// gradient flows to every row of z (through the similarity columns as well as the anchor rows),
// which AllGather's backward sums over the ranks. With B = 1 it is NTXent.
//
// Usage (rank r of N):
//
//	z := model.Forward(batch)                    // [2n, D], this rank's images
//	all := autodiff.AllGather(comm, z)           // [2nN, D]
//	l := loss.NTXentGathered(all, N, r, 0.5)     // mean over ranks = the global NT-Xent
func NTXentGathered(z *autodiff.Var, blocks, block int, tau float32) *autodiff.Var {
	m, d := check2D("NTXentGathered", "z", z)
	if blocks < 1 || block < 0 || block >= blocks || m%blocks != 0 || (m/blocks)%2 != 0 || m/blocks < 2 {
		panic(fmt.Sprintf("loss.NTXentGathered: z %v must hold %d blocks of an even number (≥ 2) of rows, and block %d one of them", z.Shape(), blocks, block))
	}
	checkTau("NTXentGathered", tau)
	na := m / blocks // anchors: 2n
	n, a0 := na/2, block*na
	inv := 1 / tau

	out := scalarNode("NTXentGathered", z)
	tp := out.Tape()
	u, r := tp.Alloc(false, m, d).Data, tp.Alloc(false, m).Data
	normalizeRows(u, z.Data(), m, d, r)
	ua := u[a0*d : (a0+na)*d]
	// s[i, b] = u_{a0+i}·u_b; rows become softmax − one-hot (dL_a/d logits).
	s := tp.Alloc(false, na, m).Data
	blas.Sgemm(false, true, na, m, d, 1, ua, d, u, d, 0, s, m)
	rowLoss := make([]float64, na)
	parallel.For(na, rowGrain(m), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := s[i*m : (i+1)*m]
			p := a0 + (i+n)%na
			pos := row[p]
			lse, _ := softmaxRow(row, a0+i, inv)
			rowLoss[i] = lse - float64(pos)*float64(inv)
			row[p] -= 1
		}
	})
	finishGathered(out, z, rowLoss, s, u, r, m, d, a0, inv)
	return out
}

// finishGathered completes a gathered loss (NTXentGathered, DCLGathered): out becomes the mean of
// the anchors' rowLoss, and its backward maps s, which holds G = dL_a/d(s_ab/τ) for this rank's
// na anchors (rows a0…a0+na−1 of the m rows of z) against every row, back to z through the row
// normalisation u = z/r. With c = g/(na·τ) and s_ib = u_{a0+i}·u_b, dL/du = c·Gᵀ·u_A on every
// row, plus c·G·u on the anchor rows.
func finishGathered(out, z *autodiff.Var, rowLoss []float64, s, u, r []float32, m, d, a0 int, inv float32) {
	na := len(rowLoss)
	var total float64
	for _, v := range rowLoss {
		total += v
	}
	out.Data()[0] = float32(total / float64(na))
	if !out.RequiresGrad() {
		return
	}
	tp := out.Tape()
	ua := u[a0*d : (a0+na)*d]
	out.SetBackward(func() {
		c := out.Grad.Data[0] * inv / float32(na)
		gu := tp.Alloc(false, m, d).Data
		blas.Sgemm(true, false, m, d, na, c, s, m, ua, d, 0, gu, d)
		blas.Sgemm(false, false, na, d, m, c, s, m, u, d, 1, gu[a0*d:], d)
		normalizeBackward(z.GradBuf(), gu, u, r, m, d)
	})
}
