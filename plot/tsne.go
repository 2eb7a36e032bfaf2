package plot

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// TSNEOptions control TSNE; zero values take the defaults.
type TSNEOptions struct {
	Perplexity float64 // effective number of neighbours; default 30
	Iterations int     // gradient steps; default 500
	// LearningRate is the step size; default max(n/48, 50), scikit-learn's "auto" rule
	// (n / early exaggeration / 4).
	LearningRate float64
	Seed         uint64 // of the initial layout
	// PCADims, when > 0, first reduces the data to this many principal components if d is
	// larger (50 is customary for noisy high-dimensional data); 0 keeps every dimension.
	PCADims int
}

// MaxTSNEPoints bounds the exact O(n²) t-SNE (memory n² float64s, time n²·iterations).
const MaxTSNEPoints = 10000

// TSNE embeds the n×d row-major matrix x in two dimensions with exact t-SNE (van der Maaten and
// Hinton 2008): Gaussian input affinities calibrated to the perplexity by bisection, a Student-t
// output kernel, early exaggeration (12 for the first quarter of the iterations), momentum and
// per-coordinate gains. Every step is O(n²) and spread over all cores; it is meant for a few
// thousand points. It returns [n, 2] row-major coordinates; the result is deterministic for a seed.
func TSNE(x []float32, n, d int, opt TSNEOptions) ([]float64, error) {
	if n < 1 || d < 1 || len(x) != n*d {
		return nil, fmt.Errorf("t-SNE: %d values for a %d×%d matrix", len(x), n, d)
	}
	if n > MaxTSNEPoints {
		return nil, fmt.Errorf("t-SNE: %d points is over the %d-point limit of the exact algorithm", n, MaxTSNEPoints)
	}
	if opt.Perplexity <= 0 {
		opt.Perplexity = 30
	}
	if opt.Iterations <= 0 {
		opt.Iterations = 500
	}
	if opt.LearningRate <= 0 {
		opt.LearningRate = math.Max(float64(n)/48, 50)
	}
	if n < 4 {
		return nil, fmt.Errorf("t-SNE needs at least 4 points, got %d", n)
	}
	perp := math.Min(opt.Perplexity, float64(n-1)/3)

	// Input: the data, or its top principal components.
	var in []float64
	dim := d
	if opt.PCADims > 0 && d > opt.PCADims && n > opt.PCADims {
		p, err := PCA(x, n, d, opt.PCADims)
		if err != nil {
			return nil, err
		}
		in, dim = p.Proj, opt.PCADims
	} else {
		in = make([]float64, n*d)
		for i, v := range x {
			in[i] = float64(v)
		}
	}

	// Squared distances, then the conditional affinities p_{j|i} row by row.
	p := make([]float64, n*n)
	parallelRows(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			a := in[i*dim : (i+1)*dim]
			row := p[i*n : (i+1)*n]
			for j := 0; j < n; j++ {
				b := in[j*dim : (j+1)*dim]
				s := 0.0
				for k, v := range a {
					t := v - b[k]
					s += t * t
				}
				row[j] = s
			}
			calibrate(row, i, perp)
		}
	})
	// Symmetrise: p_ij = (p_{j|i} + p_{i|j}) / 2n.
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			v := (p[i*n+j] + p[j*n+i]) / (2 * float64(n))
			v = math.Max(v, 1e-12)
			p[i*n+j], p[j*n+i] = v, v
		}
		p[i*n+i] = 0
	}

	rng := rand.New(rand.NewPCG(opt.Seed, 0x75e))
	y := make([]float64, 2*n)
	for i := range y {
		y[i] = 1e-4 * rng.NormFloat64()
	}
	vel := make([]float64, 2*n)
	gains := make([]float64, 2*n)
	for i := range gains {
		gains[i] = 1
	}
	grad := make([]float64, 2*n)
	grad2 := make([]float64, 2*n)
	rowZ := make([]float64, n)
	exagEnd := opt.Iterations / 4
	for it := 0; it < opt.Iterations; it++ {
		exag, mom := 1.0, 0.8
		if it < exagEnd {
			exag, mom = 12, 0.5
		}
		// ∂C/∂y_i = 4 Σ_j (exag·p_ij − w_ij/Z) w_ij (y_i − y_j) with w_ij = (1 + |y_i − y_j|²)⁻¹
		// and Z = Σ_{k≠l} w_kl. Z is one scalar, so a single pass accumulates per row
		// A_i = Σ_j exag·p_ij·w_ij·(y_i − y_j), B_i = Σ_j w_ij²·(y_i − y_j) and Σ_j w_ij, and
		// the gradient is 4(A_i − B_i/Z): one division per pair.
		parallelRows(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				yi0, yi1 := y[2*i], y[2*i+1]
				row := p[i*n : (i+1)*n]
				var a0, a1, b0, b1, zs float64
				for j := 0; j < n; j++ {
					d0, d1 := yi0-y[2*j], yi1-y[2*j+1]
					w := 1 / (1 + d0*d0 + d1*d1)
					pw := exag * row[j] * w // p_ii = 0
					ww := w * w
					a0 += pw * d0
					a1 += pw * d1
					b0 += ww * d0 // the j == i term adds 0
					b1 += ww * d1
					zs += w
				}
				rowZ[i] = zs - 1 // the j == i term
				grad[2*i], grad[2*i+1] = a0, a1
				grad2[2*i], grad2[2*i+1] = b0, b1
			}
		})
		z := 0.0
		for _, v := range rowZ {
			z += v
		}
		for k := range grad {
			grad[k] = 4 * (grad[k] - grad2[k]/z)
		}
		for k := range y {
			if (grad[k] > 0) != (vel[k] > 0) {
				gains[k] += 0.2
			} else {
				gains[k] = math.Max(gains[k]*0.8, 0.01)
			}
			vel[k] = mom*vel[k] - opt.LearningRate*gains[k]*grad[k]
			y[k] += vel[k]
		}
		// Keep the layout centred.
		var m0, m1 float64
		for i := 0; i < n; i++ {
			m0 += y[2*i]
			m1 += y[2*i+1]
		}
		m0, m1 = m0/float64(n), m1/float64(n)
		for i := 0; i < n; i++ {
			y[2*i] -= m0
			y[2*i+1] -= m1
		}
	}
	for _, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("t-SNE diverged (non-finite coordinates); try a lower learning rate")
		}
	}
	return y, nil
}

// calibrate turns row, the squared distances from point i, into the conditional probabilities
// p_{j|i} ∝ exp(−β·d_ij) whose perplexity 2^H is perp, bisecting on β.
func calibrate(row []float64, i int, perp float64) {
	target := math.Log(perp) // entropy in nats
	dmin := math.Inf(1)
	for j, v := range row {
		if j != i && v < dmin {
			dmin = v
		}
	}
	beta, lo, hi := 1.0, 0.0, math.Inf(1)
	// Start from a scale matched to the distances so the bisection converges quickly.
	mean := 0.0
	for _, v := range row {
		mean += v
	}
	if mean /= float64(len(row) - 1); mean > 0 {
		beta = 1 / mean
	}
	probs := func(beta float64) (h float64) {
		sum, sumDP := 0.0, 0.0
		for j, v := range row {
			if j == i {
				continue
			}
			e := math.Exp(-beta * (v - dmin)) // shifted by the nearest distance for stability
			sum += e
			sumDP += (v - dmin) * e
		}
		return math.Log(sum) + beta*sumDP/sum
	}
	for it := 0; it < 100; it++ {
		h := probs(beta)
		if math.Abs(h-target) < 1e-5 {
			break
		}
		if h > target { // too flat: sharpen
			lo = beta
			if math.IsInf(hi, 1) {
				beta *= 2
			} else {
				beta = (beta + hi) / 2
			}
		} else {
			hi = beta
			beta = (beta + lo) / 2
		}
	}
	sum := 0.0
	for j, v := range row {
		if j == i {
			row[j] = 0
			continue
		}
		row[j] = math.Exp(-beta * (v - dmin))
		sum += row[j]
	}
	for j := range row {
		row[j] /= sum
	}
}
