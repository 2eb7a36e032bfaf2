package autodiff

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/internal/vec"
	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/tensor"
)

// BatchNorm is PyTorch's BatchNorm1d (x [N,C]) and BatchNorm2d (x [N,C,H,W]). Per channel c, over
// the m = N·H·W values of that channel,
//
//	y = γ_c · (x − μ_c) / √(σ²_c + eps) + β_c.
//
// In training mode μ_c = (1/m) Σ x and σ²_c = (1/m) Σ (x − μ_c)² (biased, computed in two passes so
// that a large mean does not swallow a small variance), and the running statistics, when given,
// are updated in place with PyTorch's convention:
//
//	runningMean = (1−momentum)·runningMean + momentum·μ_c
//	runningVar  = (1−momentum)·runningVar  + momentum·σ²_c·m/(m−1)   (unbiased)
//
// The gradient flows through μ and σ² as well: with x̂ = (x − μ)·invstd and G = dS/dy,
//
//	dx = γ·invstd · (G − mean(G) − x̂·mean(G·x̂)),   dγ = Σ G·x̂,   dβ = Σ G.
//
// In evaluation mode (training false) μ and σ² are the running statistics, nothing is updated,
// and dx = γ·invstd·G. gamma and beta may be nil (affine=false: γ = 1, β = 0); runningMean and
// runningVar may be nil in training (track_running_stats=false) but are required in evaluation.
// Training with m = 1 panics, as in PyTorch (the variance is undefined).
func BatchNorm(x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32) *Var {
	return batchNorm("BatchNorm", x, gamma, beta, runningMean, runningVar, training, momentum, eps, false, nil)
}

// BatchNormReLU is ReLU(BatchNorm(x, ...)) in one op: the same values and gradients as the two ops
// in sequence, without the intermediate tensor, its gradient buffer and the two extra passes over
// memory. With y the output, the gradient reaching the normalisation is G·[y > 0]; the backward
// pass recomputes [y > 0] from x with the forward arithmetic instead of reading y.
func BatchNormReLU(x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32) *Var {
	return batchNorm("BatchNormReLU", x, gamma, beta, runningMean, runningVar, training, momentum, eps, true, nil)
}

// batchNorm is BatchNorm, with relu ReLU(BatchNorm), with short ReLU(BatchNorm + short)
// (BatchNormAddReLU).
func batchNorm(op string, x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32, relu bool, short *Var) *Var {
	xs := x.Shape()
	if len(xs) != 2 && len(xs) != 4 {
		panic(fmt.Sprintf("autodiff."+op+": x must be [N,C] or [N,C,H,W], got %v", xs))
	}
	n, c, hw := xs[0], xs[1], 1
	if len(xs) == 4 {
		hw = xs[2] * xs[3]
	}
	for _, p := range []struct {
		name string
		t    *tensor.Tensor
	}{{"gamma", varValue(gamma)}, {"beta", varValue(beta)}, {"runningMean", runningMean}, {"runningVar", runningVar}} {
		if p.t != nil && (p.t.Dims() != 1 || p.t.Shape[0] != c) {
			panic(fmt.Sprintf("autodiff."+op+": %s %v must be [%d] for x %v", p.name, p.t.Shape, c, xs))
		}
	}
	if (runningMean == nil) != (runningVar == nil) {
		panic(fmt.Sprintf("autodiff."+op+": give both running statistics or neither (x %v)", xs))
	}
	m := n * hw
	if training && m <= 1 {
		panic(fmt.Sprintf("autodiff."+op+": training needs more than 1 value per channel, x is %v", xs))
	}
	if !training && runningMean == nil {
		panic(fmt.Sprintf("autodiff."+op+": evaluation mode needs the running statistics (x %v)", xs))
	}
	if short != nil && !tensor.SameShape(short.Shape(), xs) {
		panic(fmt.Sprintf("autodiff."+op+": the shortcut %v and x %v differ in shape", short.Shape(), xs))
	}
	out := Node(op, false, xs, x, gamma, beta, short)
	mean := out.tape.Alloc(false, c).Data
	invstd := out.tape.Alloc(false, c).Data
	// y = scale·(x − mean) + shift per channel (before the ReLU, when fused).
	scale := out.tape.Alloc(false, c).Data
	shift := out.tape.Alloc(false, c).Data
	xv, y := x.Data(), out.Data()
	var gv, bv, sv []float32
	if short != nil {
		sv = short.Data()
	}
	if gamma != nil {
		gv = gamma.Data()
	}
	if beta != nil {
		bv = beta.Data()
	}
	// seg returns channel ch's values of image i.
	seg := func(d []float32, i, ch int) []float32 { o := (i*c + ch) * hw; return d[o : o+hw] }
	// Workers take blocks of channels and run each pass image by image over the block, so that
	// a pass reads one contiguous run of the block's planes per image rather than one plane
	// (hw values) per channel and image; every channel's sums still run over the images in
	// order, so the values are those of a channel at a time.
	parallel.Dynamic(c, channelBlock(c, hw), func(lo, hi int) {
		mus, vrs := make([]float64, hi-lo), make([]float64, hi-lo)
		if training {
			for i := 0; i < n; i++ {
				for ch := lo; ch < hi; ch++ {
					mus[ch-lo] += float64(vec.Sum(seg(xv, i, ch)))
				}
			}
			for ch := lo; ch < hi; ch++ {
				mus[ch-lo] /= float64(m)
			}
			for i := 0; i < n; i++ {
				for ch := lo; ch < hi; ch++ {
					vrs[ch-lo] += float64(vec.SumSqDev(seg(xv, i, ch), float32(mus[ch-lo])))
				}
			}
		}
		for ch := lo; ch < hi; ch++ {
			var mu, vr float64
			if training {
				mu, vr = mus[ch-lo], vrs[ch-lo]/float64(m)
				if runningMean != nil {
					rm, rv := runningMean.Data, runningVar.Data
					rm[ch] = (1-momentum)*rm[ch] + momentum*float32(mu)
					rv[ch] = (1-momentum)*rv[ch] + momentum*float32(vr*float64(m)/float64(m-1))
				}
			} else {
				mu, vr = float64(runningMean.Data[ch]), float64(runningVar.Data[ch])
			}
			is := 1 / math.Sqrt(vr+float64(eps))
			mean[ch], invstd[ch] = float32(mu), float32(is)
			// y = a·(x − μ) + b: subtracting μ first keeps the precision when |μ| ≫ σ.
			a, b := float32(is), float32(0)
			if gv != nil {
				a *= gv[ch]
			}
			if bv != nil {
				b = bv[ch]
			}
			scale[ch], shift[ch] = a, b
		}
		for i := 0; i < n; i++ {
			for ch := lo; ch < hi; ch++ {
				a, b := scale[ch], shift[ch]
				if sv != nil {
					vec.AffineAddReLU(seg(y, i, ch), seg(xv, i, ch), seg(sv, i, ch), a, mean[ch], b)
				} else if relu {
					vec.AffineReLU(seg(y, i, ch), seg(xv, i, ch), a, mean[ch], b)
				} else {
					vec.Affine(seg(y, i, ch), seg(xv, i, ch), a, mean[ch], b)
				}
			}
		}
	})
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		gy := out.Grad.Data
		// With the shortcut fused, the normalisation's output gradient is G = dS/dz·[z > 0] (z
		// the output), which is also the shortcut's: written straight into the shortcut's fresh
		// gradient buffer when it has one, else into scratch (and added to the shortcut's).
		var gs []float32
		gsFresh := false
		if short != nil {
			if short.requiresGrad && short != x {
				gs, gsFresh = short.GradFresh()
			}
			if gsFresh {
				gy = gs
			} else {
				tmp := out.tape.pool.Get(false, xs...)
				defer out.tape.pool.Put(tmp)
				gy = tmp.Data
			}
		}
		var gx, gg, gb []float32
		fresh := false
		if x.requiresGrad {
			gx, fresh = x.GradFresh()
		}
		if gamma != nil && gamma.requiresGrad {
			gg = gamma.GradBuf()
		}
		if beta != nil && beta.requiresGrad {
			gb = beta.GradBuf()
		}
		parallel.Dynamic(c, channelBlock(c, hw), func(lo, hi int) {
			// As the forward pass: image by image over a block of channels, each channel's sums
			// over the images in order. sg = Σ G, sgd = Σ G·(x − μ); then Σ G·x̂ = invstd·sgd.
			// With the ReLU fused, G is the output gradient masked by [y > 0], recomputed from x
			// as the forward pass computed y (so y is not read again).
			masks := make([]*vec.ReLU, hi-lo)
			if relu {
				for ch := lo; ch < hi; ch++ {
					masks[ch-lo] = &vec.ReLU{A: scale[ch], B: shift[ch]}
				}
			}
			sgs, sgds := make([]float64, hi-lo), make([]float64, hi-lo)
			for i := 0; i < n; i++ {
				for ch := lo; ch < hi; ch++ {
					var a, b float32
					if short != nil {
						// G = dS/dz·[z > 0] written and summed in one pass.
						a, b = vec.SelectSumProdDev(seg(gy, i, ch), seg(out.Grad.Data, i, ch), seg(y, i, ch), seg(xv, i, ch), mean[ch])
						if gs != nil && !gsFresh {
							vec.AddPositive(seg(gs, i, ch), seg(out.Grad.Data, i, ch), seg(y, i, ch))
						}
					} else {
						a, b = vec.SumProdDev(seg(gy, i, ch), seg(xv, i, ch), mean[ch], masks[ch-lo])
					}
					sgs[ch-lo] += float64(a)
					sgds[ch-lo] += float64(b)
				}
			}
			// dx = a·G + b·(x − μ) + k
			as, bs, ks := make([]float32, hi-lo), make([]float32, hi-lo), make([]float32, hi-lo)
			for ch := lo; ch < hi; ch++ {
				is, sg := invstd[ch], sgs[ch-lo]
				sgx := sgds[ch-lo] * float64(is)
				if gg != nil {
					gg[ch] += float32(sgx)
				}
				if gb != nil {
					gb[ch] += float32(sg)
				}
				g := float64(1)
				if gv != nil {
					g = float64(gv[ch])
				}
				a := g * float64(is)
				var b, k float64
				if training {
					b = -a * float64(is) * sgx / float64(m)
					k = -a * sg / float64(m)
				}
				as[ch-lo], bs[ch-lo], ks[ch-lo] = float32(a), float32(b), float32(k)
			}
			if gx == nil {
				return
			}
			for i := 0; i < n; i++ {
				for ch := lo; ch < hi; ch++ {
					vec.LinComb(seg(gx, i, ch), seg(gy, i, ch), seg(xv, i, ch), as[ch-lo], bs[ch-lo], mean[ch], ks[ch-lo], masks[ch-lo], !fresh)
					if short == x {
						vec.AddPositive(seg(gx, i, ch), seg(out.Grad.Data, i, ch), seg(y, i, ch))
					}
				}
			}
		})
	}
	return out
}

// channelBlock is how many channels of hw values a BatchNorm worker takes at a time: enough for
// runs of about 4096 values (16 KB) an image, at most a quarter of a worker's share. Measured on
// one core, Zen 4 (BenchmarkBatchNorm2d, 512 images, forward+backward), against one channel at
// a time: 14×14 planes 16.5 → 8.0 CPU-ms, 7×7 13 → 5.7; on two cores −8% and −15%. Runs of 512
// values left 28×28 planes one channel at a time, which gained nothing on Zen 4's two cores; on
// a 2-core Intel Xeon (AVX-512) runs of 4096 against 512 take the fused BatchNorm+ReLU 19.8 →
// 16.6-17.6 ms at 28×28 (4 channels a block), 9.9 → 8.3-8.7 at 14×14, 6.2 → 5.6-5.9 at 7×7,
// and the reference step 1521 → 1546 images/s (4 alternating rounds). The values do not depend
// on the block.
func channelBlock(c, hw int) int {
	return max(1, min(c/(4*parallel.Workers()), (4096+hw-1)/hw))
}

// varValue is v.Value, or nil for a nil Var.
func varValue(v *Var) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return v.Value
}
