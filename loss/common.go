// Package loss holds the self-supervised and metric-learning losses: NT-Xent (SimCLR), MoCo's
// InfoNCE, MoCo v3, SupCon, triplet, contrastive margin, negative cosine (BYOL/SimSiam), Barlow
// Twins and VICReg. One loss per file; each doc comment states the formula, the paper, the
// arguments and a usage example.
//
// Every loss is a single fused autodiff op: a forward kernel that reads its inputs once and a
// hand-derived analytic backward that accumulates (+=) into the gradient buffers of the inputs that
// require a gradient. Similarity matrices are built and differentiated with blas.Sgemm, row-wise
// work is spread over the cores with parallel.For, sums that decide the result are accumulated in
// float64, and every softmax subtracts its row maximum, so large logits (τ = 0.05 on inputs scaled
// ×100) stay finite. Masked entries are skipped rather than set to −∞, so masking never produces NaN.
//
// All losses return a [1] Var on the tape of their inputs; misuse (shape mismatch, τ ≤ 0) panics
// with a message naming the shapes, as everywhere in the engine.
package loss

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/vec"
	"github.com/contrastive-go/contrastive/parallel"
)

// normEps is the floor on a row's L2 norm in normalisation, as in torch.nn.functional.normalize.
const normEps = 1e-12

// rowGrain is a parallel.For grain for row loops over rows of d columns: about 16k elements a task.
func rowGrain(d int) int {
	g := (1 << 14) / (d + 1)
	if g < 1 {
		g = 1
	}
	return g
}

// check2D panics unless v is a 2-D Var, returning its rows and columns.
func check2D(op, name string, v *autodiff.Var) (int, int) {
	if v == nil {
		panic(fmt.Sprintf("loss.%s: %s is nil", op, name))
	}
	if v.Value.Dims() != 2 {
		panic(fmt.Sprintf("loss.%s: %s must be 2-D [rows, dim], got shape %v", op, name, v.Shape()))
	}
	return v.Shape()[0], v.Shape()[1]
}

// checkTau panics unless the temperature is a positive finite number.
func checkTau(op string, tau float32) {
	if !(tau > 0) || math.IsInf(float64(tau), 1) {
		panic(fmt.Sprintf("loss.%s: temperature must be positive and finite, got %v", op, tau))
	}
}

// normalizeRows writes u[i] = x[i] / max(‖x[i]‖₂, 1e-12) for the n rows of length d of x, and the
// divisor max(‖x[i]‖₂, 1e-12) into r[i]. The norm is accumulated in float64.
func normalizeRows(u, x []float32, n, d int, r []float32) {
	norms := make([]float64, n)
	vec.NormalizeRows(u[:n*d], x[:n*d], d, normEps, norms)
	for i, nrm := range norms {
		r[i] = float32(math.Max(nrm, normEps)) // NaN stays NaN
	}
}

// normalizeBackward accumulates into gx the gradient through u = x / max(‖x‖, eps) given gu =
// dL/du: gx += (gu − u·(u·gu)) / ‖x‖ for rows whose norm exceeds eps, gx += gu / eps otherwise
// (the divisor is then a constant).
func normalizeBackward(gx, gu, u, r []float32, n, d int) {
	parallel.For(n, rowGrain(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g, ui, gxi := gu[i*d:(i+1)*d], u[i*d:(i+1)*d], gx[i*d:(i+1)*d]
			inv := 1 / float64(r[i])
			if r[i] <= normEps {
				for j := range gxi {
					gxi[j] += float32(float64(g[j]) * inv)
				}
				continue
			}
			var dot float64
			for j := range g {
				dot += float64(g[j]) * float64(ui[j])
			}
			dt := float32(dot)
			iv := float32(inv)
			for j := range gxi {
				gxi[j] += (g[j] - ui[j]*dt) * iv
			}
		}
	})
}

// dot64 returns a·b accumulated in float64.
func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// expf returns e^x in float32: 0 below −87.3 (where float32 underflows to subnormals), +Inf above
// 88.72, NaN for NaN, and otherwise a value within about 2 ulp (Cephes expf's polynomial after
// reduction by ln 2). It is several times faster than float32(math.Exp(float64(x))).
func expf(x float32) float32 {
	if !(x > -87.33654) {
		if x != x {
			return x
		}
		return 0
	}
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	const (
		magic = 12582912 // 1.5·2²³: adding it rounds a float32 of small magnitude to an integer
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	t := float32(x*log2e) + magic
	k := t - magic
	r := x - k*ln2hi
	r = r - k*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	ki := int32(math.Float32bits(t) - math.Float32bits(magic))
	if ki > 127 {
		return y * 2 * math.Float32frombits(uint32(ki+126)<<23)
	}
	return y * math.Float32frombits(uint32(ki+127)<<23)
}

// expShift overwrites v[j] with exp((v[j] − m)·scale) and returns the sum, accumulated in float64.
// The arguments must be at most 88 (softmaxRow passes arguments ≤ 0). It runs an AVX2+FMA kernel
// (exp_amd64.s) on blocks of 8 where the CPU has one, and expShiftGo on the rest; both are
// expf's algorithm and agree to about 2 ulp.
func expShift(v []float32, m, scale float32) float64 {
	if !vectorExp {
		return expShiftGo(v, m, scale)
	}
	done, sum := expShiftVec(v, m, scale)
	return sum + expShiftGo(v[done:], m, scale)
}

// vectorExp enables the vector kernel; tests turn it off to cover the portable path.
var vectorExp = true

// expShiftGo is expShift in portable Go: expf written out inline (the compiler does not inline
// expf), two lanes at a time.
func expShiftGo(v []float32, m, scale float32) float64 {
	const (
		lo    = -87.33654
		magic = 12582912
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
		c5    = 1.9875691500e-4
		c4    = 1.3981999507e-3
		c3    = 8.3334519073e-3
		c2    = 4.1665795894e-2
		c1    = 1.6666665459e-1
		c0    = 5.0000001201e-1
	)
	var s0, s1 float64
	j := 0
	for ; j+1 < len(v); j += 2 {
		x0, x1 := (v[j]-m)*scale, (v[j+1]-m)*scale
		if !(x0 > lo && x0 <= 0 && x1 > lo && x1 <= 0) { // rare: underflow, NaN, or x > 0
			v[j], v[j+1] = expf(x0), expf(x1)
			s0 += float64(v[j])
			s1 += float64(v[j+1])
			continue
		}
		t0, t1 := float32(x0*log2e)+magic, float32(x1*log2e)+magic
		k0, k1 := t0-magic, t1-magic
		r0, r1 := x0-k0*ln2hi, x1-k1*ln2hi
		r0, r1 = r0-k0*ln2lo, r1-k1*ln2lo
		p0, p1 := float32(c5)*r0+c4, float32(c5)*r1+c4
		p0, p1 = p0*r0+c3, p1*r1+c3
		p0, p1 = p0*r0+c2, p1*r1+c2
		p0, p1 = p0*r0+c1, p1*r1+c1
		p0, p1 = p0*r0+c0, p1*r1+c0
		y0, y1 := p0*r0*r0+r0+1, p1*r1*r1+r1+1
		e0 := y0 * math.Float32frombits((math.Float32bits(t0)-math.Float32bits(magic)+127)<<23)
		e1 := y1 * math.Float32frombits((math.Float32bits(t1)-math.Float32bits(magic)+127)<<23)
		v[j], v[j+1] = e0, e1
		s0 += float64(e0)
		s1 += float64(e1)
	}
	if j < len(v) {
		e := expf((v[j] - m) * scale)
		v[j] = e
		s0 += float64(e)
	}
	return s0 + s1
}

// softmaxRow treats row·scale as logits, replaces row by their softmax over every column except
// skip (skip < 0: none), writes 0 at skip, and returns the log-sum-exp of those logits, computed as
// max + log Σ exp(logit − max). When no column remains it writes zeros and returns ok = false.
func softmaxRow(row []float32, skip int, scale float32) (lse float64, ok bool) {
	m := float32(math.Inf(-1))
	any := false
	for j, v := range row {
		if j != skip && (v > m || !any) {
			m, any = v, true
		}
	}
	if !any {
		clear(row)
		return 0, false
	}
	var sum float64
	if skip >= 0 && skip < len(row) {
		sum = expShift(row[:skip], m, scale) + expShift(row[skip+1:], m, scale)
		row[skip] = 0
	} else {
		sum = expShift(row, m, scale)
	}
	inv := float32(1 / sum)
	for j := range row {
		row[j] *= inv
	}
	return float64(m)*float64(scale) + math.Log(sum), true
}

// scalarNode makes the [1] output of a fused loss whose gradient flows to inputs.
func scalarNode(op string, inputs ...*autodiff.Var) *autodiff.Var {
	return autodiff.Node(op, false, []int{1}, inputs...)
}

// detached returns v as a stop-gradient input for Node (nil stays nil).
func detached(v *autodiff.Var) *autodiff.Var {
	if v == nil {
		return nil
	}
	return autodiff.Detach(v)
}
