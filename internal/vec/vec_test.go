package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// data returns n values of g and of x in [-2, 2).
func data(rng *rand.Rand, n int) (g, x []float32) {
	g, x = make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = 4*rng.Float32() - 2
		x[i] = 4*rng.Float32() - 2
	}
	return g, x
}

// close reports whether got is within tol of want, relative to scale (the sum of magnitudes).
func close(got float32, want, scale, tol float64) bool {
	return math.Abs(float64(got)-want) <= tol*(scale+1)
}

// lengths covers empty, sub-vector, exact multiples of 8 and 16, and odd tails, each at an
// offset into a larger slice so that unaligned starts are exercised too.
var lengths = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 49, 64, 100, 196, 784}

func TestReductionsMatchFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range lengths {
		for _, off := range []int{0, 3} {
			g0, x0 := data(rng, n+off)
			g, x := g0[off:], x0[off:]
			mu := float32(0.3)
			var s, sAbs, sq, sqAbs, sg, sgAbs, sgd, sgdAbs, mg, mgAbs, mgd, mgdAbs float64
			for i := range x {
				xi, d, gi := float64(x[i]), float64(x[i])-float64(mu), float64(g[i])
				s += xi
				sAbs += math.Abs(xi)
				sq += d * d
				sqAbs += d * d
				sg += gi
				sgAbs += math.Abs(gi)
				sgd += gi * d
				sgdAbs += math.Abs(gi * d)
				if passes(x[i], mu) {
					mg += gi
					mgAbs += math.Abs(gi)
					mgd += gi * d
					mgdAbs += math.Abs(gi * d)
				}
			}
			const tol = 1e-6
			name := fmt.Sprintf("n=%d off=%d", n, off)
			for _, c := range []struct {
				what      string
				got, goGo float32
				want, abs float64
			}{
				{"Sum", Sum(x), sumGo(x), s, sAbs},
				{"SumSqDev", SumSqDev(x, mu), sumSqDevGo(x, mu), sq, sqAbs},
			} {
				if !close(c.got, c.want, c.abs, tol) || !close(c.goGo, c.want, c.abs, tol) {
					t.Errorf("%s %s = %v (Go loop %v), want %v", name, c.what, c.got, c.goGo, c.want)
				}
			}
			a, b := SumProdDev(g, x, mu, nil)
			ga, gb := sumProdDevGo(g, x, mu, nil)
			if !close(a, sg, sgAbs, tol) || !close(b, sgd, sgdAbs, tol) || !close(ga, sg, sgAbs, tol) || !close(gb, sgd, sgdAbs, tol) {
				t.Errorf("%s SumProdDev = %v, %v (Go loop %v, %v), want %v, %v", name, a, b, ga, gb, sg, sgd)
			}
			a, b = SumProdDev(g, x, mu, relu)
			ga, gb = sumProdDevGo(g, x, mu, relu)
			if !close(a, mg, mgAbs, tol) || !close(b, mgd, mgdAbs, tol) || !close(ga, mg, mgAbs, tol) || !close(gb, mgd, mgdAbs, tol) {
				t.Errorf("%s SumProdDev masked = %v, %v (Go loop %v, %v), want %v, %v", name, a, b, ga, gb, mg, mgd)
			}
		}
	}
}

// relu is the mask of the tests: about half of data's x pass it.
var relu = &ReLU{A: 1.3, B: -0.2}

// passes reports whether x passes relu's mask (in float64, away from the boundary in the tests).
func passes(x, mu float32) bool { return float64(relu.A)*(float64(x)-float64(mu))+float64(relu.B) > 0 }

func TestElementwiseMatchFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const a, b, mu, k = float32(1.7), float32(-0.4), float32(0.3), float32(0.05)
	for _, n := range lengths {
		for _, off := range []int{0, 5} {
			g0, x0 := data(rng, n+off)
			g, x := g0[off:], x0[off:]
			prev := make([]float32, n)
			for i := range prev {
				prev[i] = rng.Float32()
			}
			for _, relu := range []bool{false, true} {
				got := make([]float32, n+1) // one more: nothing past len(y) may be written
				got[n] = 42
				if relu {
					AffineReLU(got[:n], x, a, mu, b)
				} else {
					Affine(got[:n], x, a, mu, b)
				}
				for i := range x {
					want := float64(a)*(float64(x[i])-float64(mu)) + float64(b)
					if relu {
						want = math.Max(want, 0)
					}
					if !close(got[i], want, math.Abs(want), 1e-6) {
						t.Fatalf("n=%d off=%d relu=%v: y[%d] = %v, want %v", n, off, relu, i, got[i], want)
					}
				}
				if got[n] != 42 {
					t.Fatalf("n=%d relu=%v wrote past the end", n, relu)
				}
			}
			for _, masked := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					dst := append([]float32(nil), prev...)
					var r *ReLU
					if masked {
						r = relu
					}
					LinComb(dst, g, x, a, b, mu, k, r, acc)
					for i := range dst {
						gi := float64(g[i])
						if masked && !passes(x[i], mu) {
							gi = 0
						}
						want := float64(a)*gi + float64(b)*(float64(x[i])-float64(mu)) + float64(k)
						if acc {
							want += float64(prev[i])
						}
						if !close(dst[i], want, math.Abs(want)+math.Abs(float64(a)*gi), 1e-6) {
							t.Fatalf("n=%d off=%d masked=%v acc=%v: dst[%d] = %v, want %v", n, off, masked, acc, i, dst[i], want)
						}
					}
				}
			}
		}
	}
}

// TestMaskMatchesAffineReLU checks that the backward mask is exactly the forward ReLU's
// derivative: the gradient passes where AffineReLU's output is positive and nowhere else, at
// every length (assembly body and Go tail), including values at and near the boundary.
func TestMaskMatchesAffineReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const a, mu, b = float32(0.7), float32(0.1), float32(-0.3)
	for _, n := range lengths {
		x := make([]float32, n)
		for i := range x {
			switch i % 4 {
			case 0: // exactly on the boundary: a·(x − mu) + b = 0 up to rounding
				x[i] = mu - b/a
			case 1: // one ulp around it
				x[i] = math.Nextafter32(mu-b/a, float32(i%8))
			default:
				x[i] = 4*rng.Float32() - 2
			}
		}
		y := make([]float32, n)
		AffineReLU(y, x, a, mu, b)
		g := make([]float32, n)
		for i := range g {
			g[i] = 1
		}
		dst := make([]float32, n)
		r := &ReLU{A: a, B: b}
		LinComb(dst, g, x, 1, 0, mu, 0, r, false)
		var want float32
		for i := range dst {
			w := float32(0)
			if y[i] > 0 {
				w = 1
			}
			want += w
			if dst[i] != w {
				t.Errorf("n=%d: mask[%d] = %v, but the forward output is %v (x = %v)", n, i, dst[i], y[i], x[i])
			}
		}
		if sg, _ := SumProdDev(g, x, mu, r); sg != want {
			t.Errorf("n=%d: masked Σg = %v, want %v", n, sg, want)
		}
	}
}

func TestAddPositive(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range lengths {
		g, x := data(rng, n)
		if n > 3 {
			x[1], x[2], x[3] = 0, float32(math.Inf(1)), float32(math.NaN())
		}
		dst := make([]float32, n+1)
		for i := range dst {
			dst[i] = float32(i)
		}
		AddPositive(dst[:n], g, x)
		for i := 0; i < n; i++ {
			want := float32(i)
			if x[i] > 0 {
				want += g[i]
			}
			if dst[i] != want {
				t.Fatalf("n=%d: dst[%d] = %v, want %v (x = %v, g = %v)", n, i, dst[i], want, x[i], g[i])
			}
		}
		if dst[n] != float32(n) {
			t.Fatalf("n=%d: wrote past the end", n)
		}
		for i := range dst {
			dst[i] = float32(math.NaN()) // a fresh buffer: every value must be written
		}
		dst[n] = 42
		SelectPositive(dst[:n], g, x)
		for i := 0; i < n; i++ {
			var want float32
			if x[i] > 0 {
				want = g[i]
			}
			if dst[i] != want {
				t.Fatalf("n=%d: SelectPositive dst[%d] = %v, want %v (x = %v)", n, i, dst[i], want, x[i])
			}
		}
		if dst[n] != 42 {
			t.Fatalf("n=%d: SelectPositive wrote past the end", n)
		}
	}
}

func TestAffineReLUKeepsNaN(t *testing.T) {
	x := make([]float32, 16)
	x[2] = float32(math.NaN())
	x[11] = float32(math.NaN())
	y := make([]float32, 16)
	AffineReLU(y, x, 1, 0, -1) // every finite value maps to max(0, −1) = 0
	for i, v := range y {
		if isNaN := v != v; isNaN != (i == 2 || i == 11) {
			t.Errorf("y[%d] = %v from x = %v", i, v, x[i])
		}
	}
}

func BenchmarkKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{49, 784, 1 << 16} {
		g, x := data(rng, n)
		dst := make([]float32, n)
		for _, k := range []struct {
			name string
			fn   func()
		}{
			{"Sum", func() { Sum(x) }},
			{"SumSqDev", func() { SumSqDev(x, 0.1) }},
			{"AffineReLU", func() { AffineReLU(dst, x, 1.1, 0.1, 0.2) }},
			{"SumProdDevMasked", func() { SumProdDev(g, x, 0.1, relu) }},
			{"LinCombMasked", func() { LinComb(dst, g, x, 1, 0.5, 0.1, 0.2, relu, false) }},
		} {
			b.Run(fmt.Sprintf("%s/%d", k.name, n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					k.fn()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
			})
		}
	}
}

// TestAffineAddReLU checks AffineAddReLU bit for bit against Affine followed by the sum and max
// (the two ops it fuses, in the order they round) at every length, assembly body and Go tail,
// that nothing past len(y) is written, and that a NaN stays NaN.
func TestAffineAddReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const a, b, mu = float32(1.7), float32(-0.4), float32(0.3)
	for _, n := range lengths {
		s, x := data(rng, n)
		if n > 3 {
			x[3] = float32(math.NaN())
		}
		want := make([]float32, n)
		Affine(want, x, a, mu, b)
		for i := range want {
			want[i] = max(want[i]+s[i], 0)
		}
		got := make([]float32, n+1)
		got[n] = 42
		AffineAddReLU(got[:n], x, s, a, mu, b)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: y[%d] = %v, want %v (Affine, then sum and max)", n, i, got[i], want[i])
			}
		}
		if got[n] != 42 {
			t.Fatalf("n=%d wrote past the end", n)
		}
	}
}

// TestSelectSumProdDev checks the fused pass bit for bit against SelectPositive followed by
// SumProdDev at every length (assembly body and Go tail), with zeros, negative and NaN z.
func TestSelectSumProdDev(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const mu = float32(0.3)
	for _, n := range lengths {
		g, x := data(rng, n)
		z, _ := data(rng, n)
		if n > 5 {
			z[2], z[5] = 0, float32(math.NaN())
		}
		want := make([]float32, n)
		SelectPositive(want, g, z)
		wsg, wsgd := SumProdDev(want, x, mu, nil)
		got := make([]float32, n+1)
		got[n] = 42
		sg, sgd := SelectSumProdDev(got[:n], g, z, x, mu)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, got[i], want[i])
			}
		}
		if math.Float32bits(sg) != math.Float32bits(wsg) || math.Float32bits(sgd) != math.Float32bits(wsgd) {
			t.Fatalf("n=%d: sums %v %v, want %v %v", n, sg, sgd, wsg, wsgd)
		}
		if got[n] != 42 {
			t.Fatalf("n=%d wrote past the end", n)
		}
	}
}
