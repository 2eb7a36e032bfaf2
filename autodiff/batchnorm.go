package autodiff

import (
	"fmt"
	"math"

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
	return batchNorm("BatchNorm", x, gamma, beta, runningMean, runningVar, training, momentum, eps, false)
}

// BatchNormReLU is ReLU(BatchNorm(x, ...)) in one op: the same values and gradients as the two ops
// in sequence, without the intermediate tensor, its gradient buffer and the two extra passes over
// memory. With y the output, the gradient reaching the normalisation is G·[y > 0].
func BatchNormReLU(x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32) *Var {
	return batchNorm("BatchNormReLU", x, gamma, beta, runningMean, runningVar, training, momentum, eps, true)
}

func batchNorm(op string, x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32, relu bool) *Var {
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
	out := Node(op, false, xs, x, gamma, beta)
	mean := out.tape.Alloc(false, c).Data
	invstd := out.tape.Alloc(false, c).Data
	xv, y := x.Data(), out.Data()
	var gv, bv []float32
	if gamma != nil {
		gv = gamma.Data()
	}
	if beta != nil {
		bv = beta.Data()
	}
	// seg returns channel ch's values of image i.
	seg := func(d []float32, i, ch int) []float32 { o := (i*c + ch) * hw; return d[o : o+hw] }
	parallel.For(c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var mu, vr float64
			if training {
				var s float64
				for i := 0; i < n; i++ {
					s += float64(sum32(seg(xv, i, ch)))
				}
				mu = s / float64(m)
				mu32 := float32(mu)
				s = 0
				for i := 0; i < n; i++ {
					s += float64(sumSqDev(seg(xv, i, ch), mu32))
				}
				vr = s / float64(m)
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
			for i := 0; i < n; i++ {
				if relu {
					normalizeReLU(seg(y, i, ch), seg(xv, i, ch), a, mean[ch], b)
				} else {
					normalize(seg(y, i, ch), seg(xv, i, ch), a, mean[ch], b)
				}
			}
		}
	})
	if !out.requiresGrad {
		return out
	}
	out.backward = func() {
		gy := out.Grad.Data
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
		parallel.For(c, 1, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				mu, is := mean[ch], invstd[ch]
				// sg = Σ G, sgd = Σ G·(x − μ); then Σ G·x̂ = invstd·sgd.
				var sg, sgd float64
				for i := 0; i < n; i++ {
					var a, b float32
					if relu {
						a, b = sumProdDevMasked(seg(gy, i, ch), seg(xv, i, ch), seg(y, i, ch), mu)
					} else {
						a, b = sumProdDev(seg(gy, i, ch), seg(xv, i, ch), mu)
					}
					sg += float64(a)
					sgd += float64(b)
				}
				sgx := sgd * float64(is)
				if gg != nil {
					gg[ch] += float32(sgx)
				}
				if gb != nil {
					gb[ch] += float32(sg)
				}
				if gx == nil {
					continue
				}
				g := float64(1)
				if gv != nil {
					g = float64(gv[ch])
				}
				// dx = a·G + b·(x − μ) + k
				a := g * float64(is)
				var b, k float64
				if training {
					b = -a * float64(is) * sgx / float64(m)
					k = -a * sg / float64(m)
				}
				for i := 0; i < n; i++ {
					switch {
					case relu && fresh:
						bnGradXMaskedSet(seg(gx, i, ch), seg(gy, i, ch), seg(xv, i, ch), seg(y, i, ch), float32(a), float32(b), float32(k), mu)
					case relu:
						bnGradXMasked(seg(gx, i, ch), seg(gy, i, ch), seg(xv, i, ch), seg(y, i, ch), float32(a), float32(b), float32(k), mu)
					case fresh:
						bnGradXSet(seg(gx, i, ch), seg(gy, i, ch), seg(xv, i, ch), float32(a), float32(b), float32(k), mu)
					default:
						bnGradX(seg(gx, i, ch), seg(gy, i, ch), seg(xv, i, ch), float32(a), float32(b), float32(k), mu)
					}
				}
			}
		})
	}
	return out
}

// varValue is v.Value, or nil for a nil Var.
func varValue(v *Var) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return v.Value
}

// sumSqDev returns Σ (x − mu)².
func sumSqDev(x []float32, mu float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d0, d1, d2, d3 := x[i]-mu, x[i+1]-mu, x[i+2]-mu, x[i+3]-mu
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := x[i] - mu
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// sumProdDev returns Σ g and Σ g·(x − mu).
func sumProdDev(g, x []float32, mu float32) (float32, float32) {
	x = x[:len(g)]
	var a0, a1, b0, b1 float32
	i := 0
	for ; i+2 <= len(g); i += 2 {
		a0 += g[i]
		a1 += g[i+1]
		b0 += g[i] * (x[i] - mu)
		b1 += g[i+1] * (x[i+1] - mu)
	}
	for ; i < len(g); i++ {
		a0 += g[i]
		b0 += g[i] * (x[i] - mu)
	}
	return a0 + a1, b0 + b1
}

// normalize sets y = a·(x − mu) + b.
func normalize(y, x []float32, a, mu, b float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] = a*(x[i]-mu) + b
	}
}

// bnGradX accumulates dx += a·g + b·(x − mu) + k.
func bnGradX(dx, g, x []float32, a, b, k, mu float32) {
	g, x = g[:len(dx)], x[:len(dx)]
	for i := range dx {
		dx[i] += a*g[i] + b*(x[i]-mu) + k
	}
}

// normalizeReLU sets y = max(0, a·(x − mu) + b).
func normalizeReLU(y, x []float32, a, mu, b float32) {
	x = x[:len(y)]
	for i := range y {
		v := a*(x[i]-mu) + b
		y[i] = max(v, 0)
	}
}

// masked returns g where the ReLU output y is positive, else 0. y is +0 or positive (a max with
// 0), so its bits are non-zero exactly when it is positive; the mask is built without a branch,
// which the essentially random sign pattern of activations would mispredict half the time
// (measured 6.0 → 1.4 ns per element in the backward pass).
func masked(g, y float32) float32 {
	m := uint32(int32(-math.Float32bits(y)) >> 31) // all ones when y > 0, else 0
	return math.Float32frombits(math.Float32bits(g) & m)
}

// sumProdDevMasked is sumProdDev of g·[y > 0].
func sumProdDevMasked(g, x, y []float32, mu float32) (float32, float32) {
	x, y = x[:len(g)], y[:len(g)]
	var a0, a1, b0, b1 float32
	i := 0
	for ; i+2 <= len(g); i += 2 {
		g0, g1 := masked(g[i], y[i]), masked(g[i+1], y[i+1])
		a0 += g0
		a1 += g1
		b0 += g0 * (x[i] - mu)
		b1 += g1 * (x[i+1] - mu)
	}
	for ; i < len(g); i++ {
		g0 := masked(g[i], y[i])
		a0 += g0
		b0 += g0 * (x[i] - mu)
	}
	return a0 + a1, b0 + b1
}

// bnGradXMasked accumulates dx += a·g·[y > 0] + b·(x − mu) + k.
func bnGradXMasked(dx, g, x, y []float32, a, b, k, mu float32) {
	g, x, y = g[:len(dx)], x[:len(dx)], y[:len(dx)]
	for i := range dx {
		dx[i] += a*masked(g[i], y[i]) + b*(x[i]-mu) + k
	}
}

// bnGradXSet is bnGradX storing into a fresh buffer: dx = a·g + b·(x − mu) + k.
func bnGradXSet(dx, g, x []float32, a, b, k, mu float32) {
	g, x = g[:len(dx)], x[:len(dx)]
	for i := range dx {
		dx[i] = a*g[i] + b*(x[i]-mu) + k
	}
}

// bnGradXMaskedSet is bnGradXMasked storing into a fresh buffer.
func bnGradXMaskedSet(dx, g, x, y []float32, a, b, k, mu float32) {
	g, x, y = g[:len(dx)], x[:len(dx)], y[:len(dx)]
	for i := range dx {
		dx[i] = a*masked(g[i], y[i]) + b*(x[i]-mu) + k
	}
}
