// Package vec holds float32 slice kernels: the reductions and fused elementwise passes that
// BatchNorm (and its fusion with ReLU) make over every activation, once forward and twice
// backward. On amd64 with AVX2 and FMA they run in assembly, eight lanes at a time; elsewhere,
// and for the last few elements of a slice, in the Go loops of this file.
//
// "Masked by y" means multiplied by [y ≠ 0], tested on y's bits: for y = max(0, v), the output
// of a ReLU, that is the ReLU's derivative (y is +0 or positive), built without a branch.
//
// The assembly sums in eight (or sixteen) lanes and uses fused multiply-adds, so results differ
// from the Go loops in the last bits, as any change of summation order would.
package vec

import "math"

// Sum returns Σ x[i].
func Sum(x []float32) float32 {
	n := simdLen(len(x))
	var s float32
	if n > 0 {
		s = sumAsm(&x[0], n, 0, false)
	}
	return s + sumGo(x[n:])
}

// SumSqDev returns Σ (x[i] − mu)².
func SumSqDev(x []float32, mu float32) float32 {
	n := simdLen(len(x))
	var s float32
	if n > 0 {
		s = sumAsm(&x[0], n, mu, true)
	}
	return s + sumSqDevGo(x[n:], mu)
}

// Affine sets y[i] = a·(x[i] − mu) + b. x must be at least as long as y.
func Affine(y, x []float32, a, mu, b float32) { affine(y, x, a, mu, b, false) }

// AffineReLU sets y[i] = max(0, a·(x[i] − mu) + b). x must be at least as long as y.
func AffineReLU(y, x []float32, a, mu, b float32) { affine(y, x, a, mu, b, true) }

func affine(y, x []float32, a, mu, b float32, relu bool) {
	x = x[:len(y)]
	n := simdLen(len(y))
	if n > 0 {
		affineAsm(&y[0], &x[0], n, a, mu, b, relu)
	}
	affineGo(y[n:], x[n:], a, mu, b, relu)
}

// SumProdDev returns Σ g[i] and Σ g[i]·(x[i] − mu), with g masked by y when y is not nil. x and
// y must be at least as long as g.
func SumProdDev(g, x, y []float32, mu float32) (sg, sgd float32) {
	x = x[:len(g)]
	var yp *float32
	if y != nil {
		y = y[:len(g)]
	}
	n := simdLen(len(g))
	if n > 0 {
		if y != nil {
			yp = &y[0]
		}
		sg, sgd = sumProdDevAsm(&g[0], &x[0], yp, n, mu)
	}
	var yt []float32
	if y != nil {
		yt = y[n:]
	}
	tg, tgd := sumProdDevGo(g[n:], x[n:], yt, mu)
	return sg + tg, sgd + tgd
}

// LinComb sets dst[i] = a·g[i] + b·(x[i] − mu) + k, or adds that to dst[i] when accumulate is
// set, with g masked by y when y is not nil. g, x and y must be at least as long as dst.
// (BatchNorm's input gradient has this form.)
func LinComb(dst, g, x, y []float32, a, b, mu, k float32, accumulate bool) {
	g, x = g[:len(dst)], x[:len(dst)]
	if y != nil {
		y = y[:len(dst)]
	}
	n := simdLen(len(dst))
	if n > 0 {
		var yp *float32
		if y != nil {
			yp = &y[0]
		}
		linCombAsm(&dst[0], &g[0], &x[0], yp, n, a, b, mu, k, accumulate)
	}
	var yt []float32
	if y != nil {
		yt = y[n:]
	}
	linCombGo(dst[n:], g[n:], x[n:], yt, a, b, mu, k, accumulate)
}

// mask returns g where y's bits are not zero, else 0.
func mask(g, y float32) float32 {
	m := uint32(int32(-math.Float32bits(y)) >> 31) // all ones when y's bits are not 0
	return math.Float32frombits(math.Float32bits(g) & m)
}

func sumGo(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func sumSqDevGo(x []float32, mu float32) float32 {
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		d0, d1 := x[i]-mu, x[i+1]-mu
		s0 += d0 * d0
		s1 += d1 * d1
	}
	for ; i < len(x); i++ {
		d := x[i] - mu
		s0 += d * d
	}
	return s0 + s1
}

func affineGo(y, x []float32, a, mu, b float32, relu bool) {
	x = x[:len(y)]
	if relu {
		for i := range y {
			y[i] = max(a*(x[i]-mu)+b, 0)
		}
		return
	}
	for i := range y {
		y[i] = a*(x[i]-mu) + b
	}
}

func sumProdDevGo(g, x, y []float32, mu float32) (sg, sgd float32) {
	x = x[:len(g)]
	if y == nil {
		for i, v := range g {
			sg += v
			sgd += v * (x[i] - mu)
		}
		return sg, sgd
	}
	y = y[:len(g)]
	for i, v := range g {
		v = mask(v, y[i])
		sg += v
		sgd += v * (x[i] - mu)
	}
	return sg, sgd
}

func linCombGo(dst, g, x, y []float32, a, b, mu, k float32, accumulate bool) {
	g, x = g[:len(dst)], x[:len(dst)]
	for i := range dst {
		gi := g[i]
		if y != nil {
			gi = mask(gi, y[i])
		}
		v := a*gi + b*(x[i]-mu) + k
		if accumulate {
			v += dst[i]
		}
		dst[i] = v
	}
}
