package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMulNTAgainstFloat64 checks C += A·Bᵀ against float64 sums on shapes around the kernel's
// 3×9 tiles and 16-lane vectors (partial tiles, tails of 1 to 15 lanes, conv1's 784), C's
// previous values and its columns past n (left as they are) included. The bound is float32
// summation's (k/16 + 8 roundings of Σ|a·b|): a wrong lane, row or tail is off by far more.
func TestMulNTAgainstFloat64(t *testing.T) { checkMulNT(t) }

func checkMulNT(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range []struct{ m, n, k int }{
		{1, 1, 1}, {3, 9, 16}, {2, 5, 17}, {4, 10, 31}, {7, 18, 33}, {32, 9, 784}, {5, 20, 15}, {6, 9, 48}, {64, 9, 100},
	} {
		lda, ldb, ldc := s.k+3, s.k+5, s.n+2
		a, b := make([]float32, s.m*lda), make([]float32, s.n*ldb)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		c := make([]float32, s.m*ldc)
		for i := range c {
			c[i] = float32(rng.NormFloat64())
		}
		c0 := append([]float32(nil), c...)
		MulNT(s.m, s.n, s.k, a, lda, b, ldb, c, ldc)
		name := fmt.Sprintf("m=%d n=%d k=%d", s.m, s.n, s.k)
		for i := range s.m {
			for j := range ldc {
				got := c[i*ldc+j]
				if j >= s.n {
					if got != c0[i*ldc+j] {
						t.Fatalf("%s: C[%d][%d] past n changed: %v, was %v", name, i, j, got, c0[i*ldc+j])
					}
					continue
				}
				want, mag := float64(c0[i*ldc+j]), math.Abs(float64(c0[i*ldc+j]))
				for p := range s.k {
					v := float64(a[i*lda+p]) * float64(b[j*ldb+p])
					want += v
					mag += math.Abs(v)
				}
				if tol := 6e-8 * float64(s.k/16+8) * mag; math.Abs(float64(got)-want) > tol {
					t.Fatalf("%s: C[%d][%d] = %v, want %v (tolerance %.2g)", name, i, j, got, want, tol)
				}
			}
		}
	}
}

// BenchmarkMulNT times the reference model's conv1 weight gradient for one image: G (32×784)
// times colᵀ (784×9).
func BenchmarkMulNT(b *testing.B) {
	m, n, k := 32, 9, 784
	a, bb, c := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) * 0.1
	}
	for i := range bb {
		bb[i] = float32(i%5) * 0.1
	}
	for b.Loop() {
		MulNT(m, n, k, a, k, bb, k, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
