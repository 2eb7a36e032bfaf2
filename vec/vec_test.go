package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// data returns n values in [-2, 2) and a ReLU-like y with about half its entries +0.
func data(rng *rand.Rand, n int) (g, x, y []float32) {
	g, x, y = make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = 4*rng.Float32() - 2
		x[i] = 4*rng.Float32() - 2
		if v := 4*rng.Float32() - 2; v > 0 {
			y[i] = v
		}
	}
	return g, x, y
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
			g0, x0, y0 := data(rng, n+off)
			g, x, y := g0[off:], x0[off:], y0[off:]
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
				if y[i] != 0 {
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
			a, b := SumProdDev(g, x, nil, mu)
			ga, gb := sumProdDevGo(g, x, nil, mu)
			if !close(a, sg, sgAbs, tol) || !close(b, sgd, sgdAbs, tol) || !close(ga, sg, sgAbs, tol) || !close(gb, sgd, sgdAbs, tol) {
				t.Errorf("%s SumProdDev = %v, %v (Go loop %v, %v), want %v, %v", name, a, b, ga, gb, sg, sgd)
			}
			a, b = SumProdDev(g, x, y, mu)
			ga, gb = sumProdDevGo(g, x, y, mu)
			if !close(a, mg, mgAbs, tol) || !close(b, mgd, mgdAbs, tol) || !close(ga, mg, mgAbs, tol) || !close(gb, mgd, mgdAbs, tol) {
				t.Errorf("%s SumProdDev masked = %v, %v (Go loop %v, %v), want %v, %v", name, a, b, ga, gb, mg, mgd)
			}
		}
	}
}

func TestElementwiseMatchFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const a, b, mu, k = float32(1.7), float32(-0.4), float32(0.3), float32(0.05)
	for _, n := range lengths {
		for _, off := range []int{0, 5} {
			g0, x0, y0 := data(rng, n+off)
			g, x, y := g0[off:], x0[off:], y0[off:]
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
					var ym []float32
					if masked {
						ym = y
					}
					LinComb(dst, g, x, ym, a, b, mu, k, acc)
					for i := range dst {
						gi := float64(g[i])
						if masked && y[i] == 0 {
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

func TestMaskIsTheReLUDerivative(t *testing.T) {
	// y = +0 stops the gradient, any positive y passes it unchanged, whatever the lane.
	y := make([]float32, 19)
	g := make([]float32, 19)
	x := make([]float32, 19)
	for i := range y {
		g[i] = float32(i + 1)
		if i%3 == 0 {
			y[i] = float32(i) + 0.5
		}
	}
	dst := make([]float32, 19)
	LinComb(dst, g, x, y, 1, 0, 0, 0, false)
	sg, _ := SumProdDev(g, x, y, 0)
	var want float32
	for i := range dst {
		w := float32(0)
		if i%3 == 0 {
			w = g[i]
		}
		want += w
		if dst[i] != w {
			t.Errorf("masked dst[%d] = %v, want %v (y = %v)", i, dst[i], w, y[i])
		}
	}
	if sg != want {
		t.Errorf("masked Σg = %v, want %v", sg, want)
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
		g, x, y := data(rng, n)
		dst := make([]float32, n)
		for _, k := range []struct {
			name string
			fn   func()
		}{
			{"Sum", func() { Sum(x) }},
			{"SumSqDev", func() { SumSqDev(x, 0.1) }},
			{"AffineReLU", func() { AffineReLU(dst, x, 1.1, 0.1, 0.2) }},
			{"SumProdDevMasked", func() { SumProdDev(g, x, y, 0.1) }},
			{"LinCombMasked", func() { LinComb(dst, g, x, y, 1, 0.5, 0.1, 0.2, false) }},
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
