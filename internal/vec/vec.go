// Package vec holds float32 slice kernels: the reductions and fused elementwise passes that
// BatchNorm (and its fusion with ReLU) make over every activation, once forward and twice
// backward, and the ReLU's own. On amd64 with AVX2 and FMA they run in assembly, eight lanes at a time; elsewhere,
// and for the last few elements of a slice, in the Go loops of this file.
//
// The assembly sums in eight (or sixteen) lanes and uses fused multiply-adds, so results differ
// from the Go loops in the last bits, as any change of summation order would.
package vec

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

// AffineAddReLU sets y[i] = max(0, (a·(x[i] − mu) + b) + s[i]): Affine, then a residual sum
// and a ReLU, rounded as those two steps are (the same bits as Affine followed by the sum and
// max). x and s must be at least as long as y.
func AffineAddReLU(y, x, s []float32, a, mu, b float32) {
	x, s = x[:len(y)], s[:len(y)]
	n := simdLen(len(y))
	if n > 0 {
		affineAddReLUAsm(&y[0], &x[0], &s[0], n, a, mu, b)
	}
	for i := n; i < len(y); i++ {
		t := a*(x[i]-mu) + b
		y[i] = max(t+s[i], 0)
	}
}

func affine(y, x []float32, a, mu, b float32, relu bool) {
	x = x[:len(y)]
	n := simdLen(len(y))
	if n > 0 {
		affineAsm(&y[0], &x[0], n, a, mu, b, relu)
	}
	affineGo(y[n:], x[n:], a, mu, b, relu)
}

// ReLU describes the derivative of a ReLU that follows an affine map of x: [A·(x − mu) + B > 0],
// the mask a fused BatchNorm+ReLU applies to its output gradient, recomputed from x with the
// same arithmetic as AffineReLU (so the backward pass need not read the output).
type ReLU struct{ A, B float32 }

// SumProdDev returns Σ g'[i] and Σ g'[i]·(x[i] − mu), where g' is g masked by relu when relu is
// not nil, else g. x must be at least as long as g.
func SumProdDev(g, x []float32, mu float32, relu *ReLU) (sg, sgd float32) {
	x = x[:len(g)]
	n := simdLen(len(g))
	if n > 0 {
		var r ReLU
		if relu != nil {
			r = *relu
		}
		sg, sgd = sumProdDevAsm(&g[0], &x[0], n, mu, r.A, r.B, relu != nil)
	}
	tg, tgd := sumProdDevGo(g[n:], x[n:], mu, relu)
	return sg + tg, sgd + tgd
}

// SelectSumProdDev is SelectPositive(dst, g, z) followed by SumProdDev(dst, x, mu, nil), in one
// pass and with the same bits: dst[i] = g[i] where z[i] > 0, else 0, and it returns Σ dst[i]
// and Σ dst[i]·(x[i] − mu). g, z and x must be at least as long as dst.
func SelectSumProdDev(dst, g, z, x []float32, mu float32) (sg, sgd float32) {
	g, z, x = g[:len(dst)], z[:len(dst)], x[:len(dst)]
	n := simdLen(len(dst))
	if n > 0 {
		sg, sgd = selectSumProdDevAsm(&dst[0], &g[0], &z[0], &x[0], n, mu)
	}
	SelectPositive(dst[n:], g[n:], z[n:])
	tg, tgd := sumProdDevGo(dst[n:], x[n:], mu, nil)
	return sg + tg, sgd + tgd
}

// LinComb sets dst[i] = a·g'[i] + b·(x[i] − mu) + k, or adds that to dst[i] when accumulate is
// set, where g' is g masked by relu when relu is not nil, else g. g and x must be at least as
// long as dst. (BatchNorm's input gradient has this form.)
func LinComb(dst, g, x []float32, a, b, mu, k float32, relu *ReLU, accumulate bool) {
	g, x = g[:len(dst)], x[:len(dst)]
	n := simdLen(len(dst))
	if n > 0 {
		var r ReLU
		if relu != nil {
			r = *relu
		}
		linCombAsm(&dst[0], &g[0], &x[0], n, a, b, mu, k, r.A, r.B, relu != nil, accumulate)
	}
	linCombGo(dst[n:], g[n:], x[n:], a, b, mu, k, relu, accumulate)
}

// AddPositive adds g[i] to dst[i] where x[i] > 0: a ReLU's input gradient, accumulated. g and
// x must be at least as long as dst.
func AddPositive(dst, g, x []float32) {
	g, x = g[:len(dst)], x[:len(dst)]
	n := simdLen(len(dst))
	if n > 0 {
		addPositiveAsm(&dst[0], &g[0], &x[0], n)
	}
	addPositiveGo(dst[n:], g[n:], x[n:])
}

// SelectPositive sets dst[i] = g[i] where x[i] > 0, else 0: a ReLU's input gradient into a
// fresh buffer. g and x must be at least as long as dst.
func SelectPositive(dst, g, x []float32) {
	g, x = g[:len(dst)], x[:len(dst)]
	n := simdLen(len(dst))
	if n > 0 {
		selectPositiveAsm(&dst[0], &g[0], &x[0], n)
	}
	for i, v := range x[n:] {
		if v > 0 {
			dst[n+i] = g[n+i]
		} else {
			dst[n+i] = 0
		}
	}
}

func addPositiveGo(dst, g, x []float32) {
	g, x = g[:len(dst)], x[:len(dst)]
	for i, v := range x {
		if v > 0 {
			dst[i] += g[i]
		}
	}
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

func sumProdDevGo(g, x []float32, mu float32, relu *ReLU) (sg, sgd float32) {
	x = x[:len(g)]
	for i, v := range g {
		d := x[i] - mu
		if relu != nil && !(relu.A*d+relu.B > 0) {
			continue
		}
		sg += v
		sgd += v * d
	}
	return sg, sgd
}

func linCombGo(dst, g, x []float32, a, b, mu, k float32, relu *ReLU, accumulate bool) {
	g, x = g[:len(dst)], x[:len(dst)]
	for i := range dst {
		gi, d := g[i], x[i]-mu
		if relu != nil && !(relu.A*d+relu.B > 0) {
			gi = 0
		}
		v := a*gi + b*d + k
		if accumulate {
			v += dst[i]
		}
		dst[i] = v
	}
}
