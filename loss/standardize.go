package loss

import (
	"math"

	"github.com/contrastive-go/contrastive/parallel"
)

// centerColumns writes ac = a − mean_n(a) for the [n, d] matrix a, with the column means
// accumulated in float64 (two passes, so a large mean with a small spread loses nothing), and
// returns Σ_n ac[n, j]² per column, also in float64.
func centerColumns(ac, a []float32, n, d int) []float64 {
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range a[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	ss := make([]float64, d)
	for i := 0; i < n; i++ {
		row, out := a[i*d:(i+1)*d], ac[i*d:(i+1)*d]
		for j, v := range row {
			c := float64(v) - mean[j]
			out[j] = float32(c)
			ss[j] += c * c
		}
	}
	return ss
}

// subtractColumnMeans makes every column of the [n, d] matrix g sum to zero (the backward of
// subtracting the column mean), accumulating the means in float64.
func subtractColumnMeans(g []float32, n, d int) {
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range g[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	parallel.For(n, rowGrain(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := g[i*d : (i+1)*d]
			for j := range row {
				row[j] = float32(float64(row[j]) - mean[j])
			}
		}
	})
}

// standardize writes zn = (z − mean) / sqrt(var + eps) per column of the [n, d] matrix z, with the
// biased variance (divide by n) as BatchNorm in training mode, and returns σ = sqrt(var + eps).
func standardize(zn, z []float32, n, d int, eps float64) []float64 {
	ss := centerColumns(zn, z, n, d)
	sigma := make([]float64, d)
	inv := make([]float32, d)
	for j := range sigma {
		sigma[j] = math.Sqrt(ss[j]/float64(n) + eps)
		inv[j] = float32(1 / sigma[j])
	}
	parallel.For(n, rowGrain(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := zn[i*d : (i+1)*d]
			for j := range row {
				row[j] *= inv[j]
			}
		}
	})
	return sigma
}

// standardizeBackward accumulates into gz the gradient through standardize given gzn = dL/dzn:
// gz = (1/σ)·(gzn − mean_n(gzn) − zn·mean_n(gzn ⊙ zn)), exact for the biased variance with eps.
func standardizeBackward(gz, gzn, zn []float32, sigma []float64, n, d int) {
	m1 := make([]float64, d)
	m2 := make([]float64, d)
	for i := 0; i < n; i++ {
		g, x := gzn[i*d:(i+1)*d], zn[i*d:(i+1)*d]
		for j := range g {
			m1[j] += float64(g[j])
			m2[j] += float64(g[j]) * float64(x[j])
		}
	}
	for j := range m1 {
		m1[j] /= float64(n)
		m2[j] /= float64(n)
	}
	parallel.For(n, rowGrain(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g, x, out := gzn[i*d:(i+1)*d], zn[i*d:(i+1)*d], gz[i*d:(i+1)*d]
			for j := range g {
				out[j] += float32((float64(g[j]) - m1[j] - float64(x[j])*m2[j]) / sigma[j])
			}
		}
	})
}
