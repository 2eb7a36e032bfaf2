package loss

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// DCLGathered is DCL for data-parallel training: one rank's share of the decoupled contrastive
// loss of the global batch, its own anchors against every rank's rows.
//
// z holds B blocks of 2n rows, block k being rank k's projections in DCL's arrangement (rows i
// and i+n of a block are the two views of one sample) — what autodiff.AllGather returns. The
// anchors are the 2n rows of block k = block; anchor a's positive p(a) is the other view in its
// block, and its denominator runs over the 2nB − 2 rows of z other than a and p(a):
//
//	l_a  = −w_a·s_{a,p(a)}/τ + log Σ_{b ∉ {a, p(a)}} exp(s_ab/τ),   s_ab = cos(z_a, z_b)
//	loss = (1/2n) Σ_{a ∈ block} l_a
//
// w_a = 1 (DCL). So the mean over the B blocks is DCL of the 2nB rows (every anchor sees every
// other sample as a negative) and the mean of their gradients DCL's gradient; each rank
// computes a 2n × 2nB similarity block. The gradient flows to every row of z (the similarity
// columns as well as the anchor rows), which AllGather's backward sums over the ranks:
// ∂L/∂z_s = Σ_r (∂L_r/∂Z)[block s]. With B = 1 it is DCL.
//
// Usage (rank r of N):
//
//	z := model.Forward(batch)                 // [2n, D], this rank's images
//	all := autodiff.AllGather(comm, z)        // [2nN, D]
//	l := loss.DCLGathered(all, N, r, 0.1)     // mean over ranks = the global DCL
func DCLGathered(z *autodiff.Var, blocks, block int, tau float32) *autodiff.Var {
	return dclGathered("DCLGathered", z, blocks, block, tau, 0)
}

// DCLWGathered is DCLW for data-parallel training, laid out as DCLGathered. The weight of a
// positive pair is DCLW's negative von Mises–Fisher weighting over the global batch: with c_j
// the cosine of global sample j's two views (all nB of them, computed from every block of z),
//
//	w_j = 2 − nB·softmax_j(c/σ)
//
// so the weights average 1 over the global batch and the mean over blocks is DCLW of the 2nB
// rows. (lightly's DCLWLoss with gather_distributed normalises the weights over each rank's
// own batch instead, which makes its result depend on the number of ranks.) The weights are
// constants, as in DCLW. With B = 1 it is DCLW.
func DCLWGathered(z *autodiff.Var, blocks, block int, tau, sigma float32) *autodiff.Var {
	if !(sigma > 0) || math.IsInf(float64(sigma), 1) {
		panic(fmt.Sprintf("loss.DCLWGathered: sigma must be positive and finite, got %v", sigma))
	}
	return dclGathered("DCLWGathered", z, blocks, block, tau, sigma)
}

// dclGathered computes DCLGathered (sigma = 0) or DCLWGathered (sigma > 0).
func dclGathered(op string, z *autodiff.Var, blocks, block int, tau, sigma float32) *autodiff.Var {
	m, d := check2D(op, "z", z)
	if blocks < 1 || block < 0 || block >= blocks || m%blocks != 0 || (m/blocks)%2 != 0 || m/blocks < 2 || m < 4 {
		panic(fmt.Sprintf("loss.%s: z %v must hold %d blocks of an even number (≥ 2) of rows, at least 4 in all, and block %d one of them", op, z.Shape(), blocks, block))
	}
	checkTau(op, tau)
	na := m / blocks // anchors: 2n
	n, a0 := na/2, block*na
	inv := 1 / tau

	out := scalarNode(op, z)
	tp := out.Tape()
	u, r := tp.Alloc(false, m, d).Data, tp.Alloc(false, m).Data
	normalizeRows(u, z.Data(), m, d, r)
	ua := u[a0*d : (a0+na)*d]

	// w[i]: the weight of this block's sample i (1 for DCL); the softmax runs over the nB
	// samples of every block.
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	if sigma > 0 {
		c := positiveCosines(u, n, d, blocks, na)
		mx := math.Inf(-1)
		for _, v := range c {
			mx = math.Max(mx, v)
		}
		var sum float64
		for j, v := range c {
			c[j] = math.Exp((v - mx) / float64(sigma))
			sum += c[j]
		}
		for i := range n {
			w[i] = 2 - float64(n*blocks)*c[block*n+i]/sum
		}
	}

	// s[i, b] = u_{a0+i}·u_b; rows become softmax over the negatives − w·one-hot(positive).
	s := tp.Alloc(false, na, m).Data
	blas.Sgemm(false, true, na, m, d, 1, ua, d, u, d, 0, s, m)
	rowLoss := make([]float64, na)
	parallel.For(na, rowGrain(m), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := s[i*m : (i+1)*m]
			p := a0 + (i+n)%na
			pos := float64(row[p])
			wi := w[i%n]
			lse := softmaxRowSkip2(row, a0+i, p, inv)
			rowLoss[i] = lse - wi*pos*float64(inv)
			row[p] = float32(-wi)
		}
	})
	finishGathered(out, z, rowLoss, s, u, r, m, d, a0, inv)
	return out
}
