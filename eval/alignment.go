package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// Alignment is the alignment metric of Wang and Isola, "Understanding Contrastive Representation
// Learning through Alignment and Uniformity on the Hypersphere" (ICML 2020): the expected distance
// between the L2-normalised features of positive pairs,
//
//	ℓ_align = E_{(x, y) positive} ‖f̂(x) − f̂(y)‖₂^α,   f̂ = f / max(‖f‖₂, 1e-12),
//
// where row i of x and row i of y form a pair (typically two augmented views of one image).
// alpha is α (0 means the paper's default, 2). Lower is better: 0 when every pair coincides,
// 2^α when every pair is antipodal. It returns an error when x and y differ in shape, are empty,
// or alpha is negative.
//
//	a, err := eval.Alignment(view1H, view2H, 2)
func Alignment(x, y Features, alpha float64) (float64, error) {
	x.check("Alignment")
	y.check("Alignment")
	if alpha == 0 {
		alpha = 2
	}
	switch {
	case x.N != y.N || x.D != y.D:
		return 0, fmt.Errorf("eval: alignment: pairs need equal shapes, got [%d, %d] and [%d, %d]", x.N, x.D, y.N, y.D)
	case x.N == 0:
		return 0, fmt.Errorf("eval: alignment: no pairs")
	case !(alpha > 0) || math.IsInf(alpha, 0):
		return 0, fmt.Errorf("eval: alignment: alpha = %v must be positive", alpha)
	}
	xn, yn := x.Normalized(), y.Normalized()
	var sum float64
	for i := 0; i < x.N; i++ {
		a, b := xn.Row(i), yn.Row(i)
		var d2 float64
		for j := range a {
			d := float64(a[j]) - float64(b[j])
			d2 += d * d
		}
		sum += math.Pow(d2, alpha/2)
	}
	return sum / float64(x.N), nil
}

// UniformityOptions configures Uniformity. The zero value is the paper's t = 2 on all rows.
type UniformityOptions struct {
	// T is the kernel's scale t (default 2).
	T float64
	// MaxSamples, when positive and smaller than the number of rows, makes Uniformity use that
	// many rows drawn without replacement (seeded by Seed): the pair count grows as n², so a
	// subsample of a few thousand rows estimates it well on large sets.
	MaxSamples int
	Seed       uint64
}

// Uniformity is the uniformity metric of Wang and Isola (ICML 2020): the log of the mean Gaussian
// potential over all distinct pairs of L2-normalised features,
//
//	ℓ_uniform = log E_{i<j} exp(−t ‖f̂_i − f̂_j‖₂²),   f̂ = f / max(‖f‖₂, 1e-12).
//
// Lower (more negative) is better, down to −4t when the features are two antipodal points. The
// mean is taken as a log-sum-exp (the largest exponent factored out), so a large t cannot
// underflow to log 0. Squared distances come from Gram blocks computed by blas.Sgemm,
// ‖a−b‖² = ‖a‖² + ‖b‖² − 2a·b (clamped at 0). It returns an error for fewer than two rows or a
// non-positive t.
//
//	u, err := eval.Uniformity(testH, eval.UniformityOptions{MaxSamples: 10000})
func Uniformity(x Features, opt UniformityOptions) (float64, error) {
	x.check("Uniformity")
	t := opt.T
	if t == 0 {
		t = 2
	}
	switch {
	case !(t > 0) || math.IsInf(t, 0):
		return 0, fmt.Errorf("eval: uniformity: t = %v must be positive", t)
	case opt.MaxSamples < 0:
		return 0, fmt.Errorf("eval: uniformity: MaxSamples = %d must not be negative", opt.MaxSamples)
	case x.N < 2 || (opt.MaxSamples > 0 && opt.MaxSamples < 2):
		return 0, fmt.Errorf("eval: uniformity needs at least two rows, got %d (MaxSamples %d)", x.N, opt.MaxSamples)
	}
	if opt.MaxSamples > 0 && x.N > opt.MaxSamples {
		rng := rand.New(rand.NewPCG(opt.Seed, 0x2545f4914f6cdd1d))
		idx := rng.Perm(x.N)[:opt.MaxSamples]
		sort.Ints(idx)
		x = x.Subset(idx)
	}
	xn := x.Normalized()
	n, d := xn.N, xn.D
	sq := make([]float64, n)
	for i := range sq {
		for _, v := range xn.Row(i) {
			sq[i] += float64(v) * float64(v)
		}
	}
	// Per row i: the largest exponent mx[i] and Σ_{j>i} exp(e_ij − mx[i]), e_ij = −t‖x̂_i − x̂_j‖².
	mx, sum := make([]float64, n), make([]float64, n)
	block := max(1, min(512, maxSimBlock/n))
	gram := make([]float32, block*n)
	for lo := 0; lo < n-1; lo += block {
		b := min(block, n-1-lo)
		w := n - lo // columns lo..n-1
		g := gram[:b*w]
		blas.Sgemm(false, true, b, w, d, 1, xn.Data[lo*d:], d, xn.Data[lo*d:], d, 0, g, w)
		parallel.For(b, 4, func(rlo, rhi int) {
			for r := rlo; r < rhi; r++ {
				i := lo + r
				row := g[r*w : (r+1)*w]
				m := math.Inf(-1)
				for c := r + 1; c < w; c++ {
					m = math.Max(m, -t*pairDist2(sq[i], sq[lo+c], row[c]))
				}
				var s float64
				for c := r + 1; c < w; c++ {
					s += math.Exp(-t*pairDist2(sq[i], sq[lo+c], row[c]) - m)
				}
				mx[i], sum[i] = m, s
			}
		})
	}
	m := math.Inf(-1)
	for _, v := range mx[:n-1] {
		m = math.Max(m, v)
	}
	var s float64
	for i := 0; i < n-1; i++ {
		s += sum[i] * math.Exp(mx[i]-m)
	}
	pairs := float64(n) * float64(n-1) / 2
	return m + math.Log(s) - math.Log(pairs), nil
}

// pairDist2 is ‖a − b‖² from ‖a‖², ‖b‖² and a·b, clamped at 0 against rounding.
func pairDist2(sa, sb float64, dot float32) float64 {
	return math.Max(0, sa+sb-2*float64(dot))
}
