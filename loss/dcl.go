package loss

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// DCL is the decoupled contrastive loss: NT-Xent with the positive removed from the denominator.
//
// "Decoupled Contrastive Learning", Yeh, Hong, Hsu, Liu, Chen, LeCun, ECCV 2022
// (https://arxiv.org/abs/2110.06848), equation 6. z holds the 2N projections of N samples under
// two views, laid out as for NTXent: rows i and i+N are the two views of sample i, and the
// positive of anchor a is p(a) = (a+N) mod 2N. With u_a = z_a / max(‖z_a‖₂, 1e-12) and
// s_ab = u_a·u_b,
//
//	l_a  = −s_{a,p(a)}/τ + log Σ_{b ∉ {a, p(a)}} exp(s_ab/τ)
//	loss = (1/2N) Σ_a l_a
//
// The denominator holds only the 2N−2 negatives, so the gradient is no longer damped by the
// positive's own softmax weight (the "negative-positive coupling" of NT-Xent), which matters most
// at small batches. Unlike NT-Xent the loss can be negative.
//
// Arguments:
//   - z: [2N, D] projections (not normalised), N ≥ 2; the gradient flows to z.
//   - tau: the temperature τ > 0; the paper and lightly use 0.1.
//
// Usage:
//
//	z := model.Forward(batch)   // [2N, D]: both views of N images
//	l := loss.DCL(z, 0.1)       // scalar
//	tp.Backward(l)
func DCL(z *autodiff.Var, tau float32) *autodiff.Var {
	return dcl("DCL", z, tau, 0)
}

// DCLW is DCL with the positive term weighted by a negative von Mises–Fisher weighting: pairs
// whose views are already similar weigh less, hard positives more.
//
// Yeh et al. 2022, equation 7. With c_i = s_{i,i+N} the cosine similarity of sample i's two
// views (i < N) and σ the weighting's temperature,
//
//	w_i  = 2 − exp(c_i/σ) / ((1/N) Σ_j exp(c_j/σ))   = 2 − N·softmax_i(c/σ)
//	l_a  = −w_{a mod N}·s_{a,p(a)}/τ + log Σ_{b ∉ {a, p(a)}} exp(s_ab/τ)
//	loss = (1/2N) Σ_a l_a
//
// The weights average 1 over the batch and are constants (no gradient flows through them), as in
// lightly's DCLWLoss.
//
// Arguments:
//   - z: [2N, D] projections, N ≥ 2, laid out as for DCL; the gradient flows to z.
//   - tau: the temperature τ > 0 (paper and lightly: 0.1).
//   - sigma: the weighting's temperature σ > 0 (paper and lightly: 0.5).
//
// Usage:
//
//	l := loss.DCLW(model.Forward(batch), 0.1, 0.5)
//	tp.Backward(l)
func DCLW(z *autodiff.Var, tau, sigma float32) *autodiff.Var {
	if !(sigma > 0) || math.IsInf(float64(sigma), 1) {
		panic(fmt.Sprintf("loss.DCLW: sigma must be positive and finite, got %v", sigma))
	}
	return dcl("DCLW", z, tau, sigma)
}

// dcl computes DCL (sigma = 0) or DCLW (sigma > 0).
func dcl(op string, z *autodiff.Var, tau, sigma float32) *autodiff.Var {
	m, d := check2D(op, "z", z)
	if m < 4 || m%2 != 0 {
		panic(fmt.Sprintf("loss.%s: z must hold an even number (≥ 4) of rows, two views of N ≥ 2 samples; got shape %v", op, z.Shape()))
	}
	checkTau(op, tau)
	n := m / 2
	inv := 1 / tau

	out := scalarNode(op, z)
	tp := out.Tape()
	u, r := tp.Alloc(false, m, d).Data, tp.Alloc(false, m).Data
	normalizeRows(u, z.Data(), m, d, r)
	s := tp.Alloc(false, m, m).Data
	blas.Sgemm(false, true, m, m, d, 1, u, d, u, d, 0, s, m)

	// w[i]: the weight of sample i's positive term (1 for DCL).
	w := make([]float64, n)
	if sigma > 0 {
		c := positiveCosines(u, n, d, 1, 2*n)
		mx := math.Inf(-1)
		for _, v := range c {
			mx = math.Max(mx, v)
		}
		var sum float64
		for i := range n {
			w[i] = math.Exp((c[i] - mx) / float64(sigma))
			sum += w[i]
		}
		for i := range n {
			w[i] = 2 - float64(n)*w[i]/sum
		}
	} else {
		for i := range w {
			w[i] = 1
		}
	}

	rowLoss := make([]float64, m)
	parallel.For(m, rowGrain(m), func(lo, hi int) {
		for a := lo; a < hi; a++ {
			row := s[a*m : (a+1)*m]
			p := (a + n) % m
			pos := float64(row[p])
			wa := w[a%n]
			lse := softmaxRowSkip2(row, a, p, inv)
			rowLoss[a] = lse - wa*pos*float64(inv)
			row[p] = float32(-wa) // G = softmax over the negatives − w·one-hot(positive)
		}
	})
	var total float64
	for _, v := range rowLoss {
		total += v
	}
	out.Data()[0] = float32(total / float64(m))

	if out.RequiresGrad() {
		out.SetBackward(func() {
			// As NTXent: dL/ds_ab = G_ab/(2Nτ); dL/du = c·(G + Gᵀ)·u with c = g/(2Nτ).
			c := out.Grad.Data[0] * inv / float32(m)
			gu := tp.Alloc(false, m, d).Data
			symmetrize(s, m, m)
			blas.Sgemm(false, false, m, d, m, c, s, m, u, d, 0, gu, d)
			normalizeBackward(z.GradBuf(), gu, u, r, m, d)
		})
	}
	return out
}

// softmaxRowSkip2 treats row·scale as logits, replaces row by their softmax over every column
// except i and j (i ≠ j), writes 0 at i and j, and returns the log-sum-exp of those logits
// (max + log Σ exp(logit − max)). The row must have a third column.
func softmaxRowSkip2(row []float32, i, j int, scale float32) float64 {
	lo, hi := min(i, j), max(i, j)
	m := float32(math.Inf(-1))
	first := true
	for k, v := range row {
		if k != lo && k != hi && (first || v > m) {
			m, first = v, false
		}
	}
	sum := expShift(row[:lo], m, scale) + expShift(row[lo+1:hi], m, scale) + expShift(row[hi+1:], m, scale)
	row[lo], row[hi] = 0, 0
	invSum := float32(1 / sum)
	for k := range row {
		row[k] *= invSum
	}
	return float64(m)*float64(scale) + math.Log(sum)
}

// positiveCosines returns c[k·n + i] = u_a·u_b in float64 for the two views a = k·stride + i and
// b = a + n of sample i of each of the blocks (u: unit rows of width d). DCLW's weights use it
// in one process and on several ranks alike, so both compute the same weights.
func positiveCosines(u []float32, n, d, blocks, stride int) []float64 {
	c := make([]float64, n*blocks)
	for k := range blocks {
		for i := range n {
			a, b := k*stride+i, k*stride+n+i
			var dot float64
			for j := range d {
				dot += float64(u[a*d+j]) * float64(u[b*d+j])
			}
			c[k*n+i] = dot
		}
	}
	return c
}
