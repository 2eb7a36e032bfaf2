package loss

import (
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/tensor"
)

// NTXentOption configures NTXent.
type NTXentOption func(*ntxentConfig)

type ntxentConfig struct {
	bank *tensor.Tensor
}

// WithMemoryBank adds the K rows of bank ([K, D]) as extra negatives to the denominator of every
// anchor. The bank is a constant: it is L2-normalised inside (so raw or normalised rows both work)
// and receives no gradient. A nil or empty bank adds nothing. Default: no memory bank.
func WithMemoryBank(bank *tensor.Tensor) NTXentOption {
	return func(c *ntxentConfig) { c.bank = bank }
}

// NTXent is the normalised temperature-scaled cross-entropy loss of SimCLR.
//
// "A Simple Framework for Contrastive Learning of Visual Representations", Chen, Kornblith,
// Norouzi, Hinton, 2020 (https://arxiv.org/abs/2002.05709). Also known as the multi-class N-pair
// or InfoNCE loss with in-batch negatives.
//
// z holds the 2N projections of a batch of N samples under two views: rows i and i+N (i < N) are
// the two views of sample i, so the positive of anchor a is p(a) = (a+N) mod 2N. With
// u_a = z_a / max(‖z_a‖₂, 1e-12) and s_ab = u_a·u_b (cosine similarity),
//
//	l_a  = −log( exp(s_{a,p(a)}/τ) / Σ_{b≠a} exp(s_ab/τ) )
//	loss = (1/2N) Σ_a l_a
//
// The denominator runs over the 2N−1 other rows (the positive included, the anchor excluded) and,
// with WithMemoryBank, over the K bank rows too. For N = 1 without a bank the only candidate is
// the positive, so the loss and its gradient are 0.
//
// Arguments:
//   - z: [2N, D] projections (not normalised); the gradient flows to z.
//   - tau: the temperature τ > 0; SimCLR uses 0.5 for CIFAR-scale batches, 0.1 for large ones,
//     lightly's default is 0.5.
//   - opts: WithMemoryBank(bank) for extra negatives (default none).
//
// The similarity matrix and the backward pass are GEMMs; the softmax runs over rows in parallel
// with the maximum subtracted and float64 sums, so τ = 0.05 with inputs ×100 stays finite.
//
// Usage:
//
//	z := model.Forward(batch)         // [2N, D]: both views of N images
//	l := loss.NTXent(z, 0.5)              // scalar
//	tp.Backward(l)
func NTXent(z *autodiff.Var, tau float32, opts ...NTXentOption) *autodiff.Var {
	var cfg ntxentConfig
	for _, o := range opts {
		o(&cfg)
	}
	rows, d := check2D("NTXent", "z", z)
	if rows < 2 || rows%2 != 0 {
		panic(fmt.Sprintf("loss.NTXent: z must hold an even number (≥ 2) of rows, two views per sample; got shape %v", z.Shape()))
	}
	checkTau("NTXent", tau)
	k := 0
	if b := cfg.bank; b != nil && b.Numel() > 0 {
		if b.Dims() != 2 || b.Shape[1] != d {
			panic(fmt.Sprintf("loss.NTXent: memory bank must be [K, %d] to match z %v, got %v", d, z.Shape(), b.Shape))
		}
		k = b.Shape[0]
	}
	m, n, w := rows, rows/2, rows+k
	inv := 1 / tau

	out := scalarNode("NTXent", z)
	tp := out.Tape()
	u, r := tp.Alloc(false, m, d).Data, tp.Alloc(false, m).Data
	normalizeRows(u, z.Data(), m, d, r)
	var ub []float32
	if k > 0 {
		ub = tp.Alloc(false, k, d).Data
		normalizeRows(ub, cfg.bank.Data, k, d, tp.Alloc(false, k).Data)
	}
	// s[a, b] = u_a·u_b for b < 2N, u_a·bank_{b−2N} after; rows become softmax − one-hot (dL_a/d logits).
	s := tp.Alloc(false, m, w).Data
	blas.Sgemm(false, true, m, m, d, 1, u, d, u, d, 0, s, w)
	if k > 0 {
		blas.Sgemm(false, true, m, k, d, 1, u, d, ub, d, 0, s[m:], w)
	}
	rowLoss := make([]float64, m)
	parallel.For(m, rowGrain(w), func(lo, hi int) {
		for a := lo; a < hi; a++ {
			row := s[a*w : (a+1)*w]
			p := (a + n) % m
			pos := row[p]
			lse, _ := softmaxRow(row, a, inv)
			rowLoss[a] = lse - float64(pos)*float64(inv)
			row[p] -= 1
		}
	})
	var total float64
	for _, v := range rowLoss {
		total += v
	}
	out.Data()[0] = float32(total / float64(m))

	if out.RequiresGrad() {
		out.SetBackward(func() {
			// dL/ds_ab = G_ab/(2Nτ) with G = softmax − one-hot (stored in s); s_ab = u_a·u_b, so
			// dL/du = c·((G + Gᵀ)·u + G_bank·bank), c = g/(2Nτ); G + Gᵀ is formed in place (one GEMM
			// instead of two).
			c := out.Grad.Data[0] * inv / float32(m)
			gu := tp.Alloc(false, m, d).Data
			symmetrize(s, m, w)
			blas.Sgemm(false, false, m, d, m, c, s, w, u, d, 0, gu, d)
			if k > 0 {
				blas.Sgemm(false, false, m, d, k, c, s[m:], w, ub, d, 1, gu, d)
			}
			normalizeBackward(z.GradBuf(), gu, u, r, m, d)
		})
	}
	return out
}

// symmetrize replaces the leading [m, m] block of the row-stride-ld matrix g by g + gᵀ. It works
// on pairs of 32×32 tiles, copying the mirror tile into a local buffer so that no loop walks down
// a column (rows 4 KiB apart alias in the L1 cache), and pairs tile row i with tile row nb−1−i
// so that the parallel tasks are equal.
func symmetrize(g []float32, m, ld int) {
	const bs = 32
	nb := (m + bs - 1) / bs
	tileRow := func(bi int) {
		var t [bs * bs]float32
		a0, a1 := bi*bs, min(bi*bs+bs, m)
		for a := a0; a < a1; a++ { // diagonal tile: in place
			for b := a; b < a1; b++ {
				x := g[a*ld+b] + g[b*ld+a]
				g[a*ld+b], g[b*ld+a] = x, x
			}
		}
		for bj := bi + 1; bj < nb; bj++ {
			b0, b1 := bj*bs, min(bj*bs+bs, m)
			for b := b0; b < b1; b++ { // mirror tile rows b0..b1, columns a0..a1
				copy(t[(b-b0)*bs:], g[b*ld+a0:b*ld+a1])
			}
			for a := a0; a < a1; a++ {
				ra := g[a*ld+b0 : a*ld+b1]
				for j := range ra {
					x := ra[j] + t[j*bs+a-a0]
					ra[j] = x
					t[j*bs+a-a0] = x
				}
			}
			for b := b0; b < b1; b++ {
				copy(g[b*ld+a0:b*ld+a1], t[(b-b0)*bs:])
			}
		}
	}
	parallel.For((nb+1)/2, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			tileRow(i)
			if j := nb - 1 - i; j != i {
				tileRow(j)
			}
		}
	})
}
