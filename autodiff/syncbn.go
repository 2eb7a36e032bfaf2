package autodiff

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/internal/vec"
	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/tensor"
)

// SyncBatchNorm is BatchNorm (1d or 2d) whose training statistics are those of the batch of
// every rank of c together (PyTorch's SyncBatchNorm): N processes with batches x_0 … x_{N−1}
// compute what one process computes on their concatenation. With M = Σ_r m_r values of channel c
// over all ranks,
//
//	μ_c = (1/M) Σ_r Σ x,   σ²_c = (1/M) Σ_r Σ (x − μ_c)²
//
// are formed from all-reduced per-channel sums: the count and the sum, then the sum of squared
// deviations from μ_c (two passes, as BatchNorm, so a large mean does not swallow a small
// variance; float64 sums). The running statistics are updated with μ_c and the unbiased
// σ²_c·M/(M−1) on every rank alike. In the backward pass the two per-channel sums of the
// gradient formula, Σ G and Σ G·(x − μ), are all-reduced, so that with x̂ = (x − μ)·invstd
//
//	dx = γ·invstd · (G − (1/M)Σ_all G − x̂·(1/M)Σ_all G·x̂)
//
// while dγ and dβ stay this rank's sums (the gradient averaging over the ranks sums them). The
// per-channel kernels are BatchNorm's (vec.Sum, SumSqDev, Affine, SumProdDev, LinComb).
//
// Every rank must call it, and run the backward pass through it, in the same order (three small
// all-reduces: two forward, one backward). In evaluation mode, or with one rank, it is BatchNorm.
func SyncBatchNorm(c dist.Comm, x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32) *Var {
	if !training || c == nil || c.Size() == 1 {
		return BatchNorm(x, gamma, beta, runningMean, runningVar, training, momentum, eps)
	}
	return syncBatchNorm("SyncBatchNorm", c, x, gamma, beta, runningMean, runningVar, momentum, eps, false)
}

// SyncBatchNormReLU is ReLU(SyncBatchNorm(x, ...)) in one op, as BatchNormReLU is for BatchNorm.
func SyncBatchNormReLU(c dist.Comm, x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32) *Var {
	if !training || c == nil || c.Size() == 1 {
		return BatchNormReLU(x, gamma, beta, runningMean, runningVar, training, momentum, eps)
	}
	return syncBatchNorm("SyncBatchNormReLU", c, x, gamma, beta, runningMean, runningVar, momentum, eps, true)
}

// syncBatchNorm is the training-mode op (tests run it on one rank too, against BatchNorm).
func syncBatchNorm(op string, comm dist.Comm, x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, momentum, eps float32, relu bool) *Var {
	xs := x.Shape()
	if len(xs) != 2 && len(xs) != 4 {
		panic(fmt.Sprintf("autodiff."+op+": x must be [N,C] or [N,C,H,W], got %v", xs))
	}
	n, c, hw := xs[0], xs[1], 1
	if len(xs) == 4 {
		hw = xs[2] * xs[3]
	}
	for _, t := range []*tensor.Tensor{varValue(gamma), varValue(beta), runningMean, runningVar} {
		if t != nil && (t.Dims() != 1 || t.Shape[0] != c) {
			panic(fmt.Sprintf("autodiff."+op+": parameters and running statistics must be [%d] for x %v, got %v", c, xs, t.Shape))
		}
	}
	if (runningMean == nil) != (runningVar == nil) {
		panic(fmt.Sprintf("autodiff."+op+": give both running statistics or neither (x %v)", xs))
	}
	out := Node(op, false, xs, x, gamma, beta)
	tp := out.tape
	mean, invstd := tp.Alloc(false, c).Data, tp.Alloc(false, c).Data
	scale, shift := tp.Alloc(false, c).Data, tp.Alloc(false, c).Data
	xv, y := x.Data(), out.Data()
	seg := func(d []float32, i, ch int) []float32 { o := (i*c + ch) * hw; return d[o : o+hw] }

	// Pass 1: per-channel sums and the count, summed over the ranks.
	stats := make([]float64, c+1)
	// Each pass runs image by image over a block of channels, as BatchNorm's (channelBlock).
	blk := channelBlock(c, hw)
	parallel.Dynamic(c, blk, func(lo, hi int) {
		for i := 0; i < n; i++ {
			for ch := lo; ch < hi; ch++ {
				stats[ch] += float64(vec.Sum(seg(xv, i, ch)))
			}
		}
	})
	stats[c] = float64(n * hw)
	comm.AllReduce64(stats)
	m := stats[c]
	if m <= 1 {
		panic(fmt.Sprintf("autodiff."+op+": training needs more than 1 value per channel over all ranks, x is %v here", xs))
	}
	for ch := range c {
		mean[ch] = float32(stats[ch] / m)
	}
	// Pass 2: squared deviations from the global mean, summed over the ranks.
	dev := stats[:c]
	clear(dev)
	parallel.Dynamic(c, blk, func(lo, hi int) {
		for i := 0; i < n; i++ {
			for ch := lo; ch < hi; ch++ {
				dev[ch] += float64(vec.SumSqDev(seg(xv, i, ch), mean[ch]))
			}
		}
	})
	comm.AllReduce64(dev)
	var gv, bv []float32
	if gamma != nil {
		gv = gamma.Data()
	}
	if beta != nil {
		bv = beta.Data()
	}
	for ch := range c {
		vr := dev[ch] / m
		if runningMean != nil {
			rm, rv := runningMean.Data, runningVar.Data
			rm[ch] = (1-momentum)*rm[ch] + momentum*mean[ch]
			rv[ch] = (1-momentum)*rv[ch] + momentum*float32(vr*m/(m-1))
		}
		is := 1 / math.Sqrt(vr+float64(eps))
		invstd[ch] = float32(is)
		a, b := float32(is), float32(0)
		if gv != nil {
			a *= gv[ch]
		}
		if bv != nil {
			b = bv[ch]
		}
		scale[ch], shift[ch] = a, b
	}
	parallel.Dynamic(c, blk, func(lo, hi int) {
		for i := 0; i < n; i++ {
			for ch := lo; ch < hi; ch++ {
				if relu {
					vec.AffineReLU(seg(y, i, ch), seg(xv, i, ch), scale[ch], mean[ch], shift[ch])
				} else {
					vec.Affine(seg(y, i, ch), seg(xv, i, ch), scale[ch], mean[ch], shift[ch])
				}
			}
		}
	})
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		gy := out.Grad.Data
		mask := func(ch int) *vec.ReLU {
			if !relu {
				return nil
			}
			return &vec.ReLU{A: scale[ch], B: shift[ch]}
		}
		// sums[ch] = Σ G, sums[c+ch] = Σ G·(x − μ) over this rank's values.
		sums := make([]float64, 2*c)
		parallel.Dynamic(c, blk, func(lo, hi int) {
			masks := make([]*vec.ReLU, hi-lo)
			for ch := lo; ch < hi; ch++ {
				masks[ch-lo] = mask(ch)
			}
			for i := 0; i < n; i++ {
				for ch := lo; ch < hi; ch++ {
					a, b := vec.SumProdDev(seg(gy, i, ch), seg(xv, i, ch), mean[ch], masks[ch-lo])
					sums[ch] += float64(a)
					sums[c+ch] += float64(b)
				}
			}
		})
		if gamma != nil && gamma.requiresGrad {
			gg := gamma.GradBuf()
			for ch := range c {
				gg[ch] += float32(sums[c+ch] * float64(invstd[ch]))
			}
		}
		if beta != nil && beta.requiresGrad {
			gb := beta.GradBuf()
			for ch := range c {
				gb[ch] += float32(sums[ch])
			}
		}
		if !x.requiresGrad {
			return
		}
		comm.AllReduce64(sums)
		gx, fresh := x.GradFresh()
		parallel.Dynamic(c, blk, func(lo, hi int) {
			as, bs, ks := make([]float32, hi-lo), make([]float32, hi-lo), make([]float32, hi-lo)
			masks := make([]*vec.ReLU, hi-lo)
			for ch := lo; ch < hi; ch++ {
				is := float64(invstd[ch])
				g := float64(1)
				if gv != nil {
					g = float64(gv[ch])
				}
				// dx = a·G + b·(x − μ) + k, with the sums of every rank.
				a := g * is
				b := -a * is * is * sums[c+ch] / m
				k := -a * sums[ch] / m
				as[ch-lo], bs[ch-lo], ks[ch-lo], masks[ch-lo] = float32(a), float32(b), float32(k), mask(ch)
			}
			for i := 0; i < n; i++ {
				for ch := lo; ch < hi; ch++ {
					vec.LinComb(seg(gx, i, ch), seg(gy, i, ch), seg(xv, i, ch), as[ch-lo], bs[ch-lo], mean[ch], ks[ch-lo], masks[ch-lo], !fresh)
				}
			}
		})
	}
	return out
}
