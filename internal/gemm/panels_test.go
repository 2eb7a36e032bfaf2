package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMulPanels checks MulPanels against a loop: overwrite and accumulate, k shorter and longer
// than PanelDepth (several register runs), B read in place with a stride wider than n and with
// one narrower than n (only the first ldb columns checked), n ending in 16 or 32 columns (the
// narrow kernels), whose values must equal the 8×48 kernel's bit for bit.
func TestMulPanels(t *testing.T) {
	if !HasPanels() {
		t.Skip("no AVX-512 micro-kernel")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ m, n, k, ldb int }{{8, 48, 5, 48}, {16, 96, 64, 100}, {24, 48, 150, 48}, {8, 96, 70, 64}, {8, 16, 3, 16}, {16, 64, 130, 64}, {8, 32, 64, 40}, {24, 80, 65, 80}, {8, 128, 200, 128}} {
		a := make([]float32, c.m*c.k) // packed: 8-row panels of k steps
		aFull := make([]float32, c.m*c.k)
		for i := 0; i < c.m; i++ {
			for p := 0; p < c.k; p++ {
				v := float32(rng.NormFloat64())
				aFull[i*c.k+p] = v
				a[i/8*8*c.k+p*8+i%8] = v
			}
		}
		b := make([]float32, (c.k-1)*c.ldb+c.n)
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		cols := min(c.n, c.ldb) // columns that are B's own
		for _, load := range []bool{false, true} {
			cm := make([]float32, c.m*c.n)
			for i := range cm {
				cm[i] = 1
			}
			MulPanels(c.m, c.n, c.k, a, b, c.ldb, cm, c.n, load)
			for i := 0; i < c.m; i++ {
				for j := 0; j < cols; j++ {
					var want float64
					if load {
						want = 1
					}
					for p := 0; p < c.k; p++ {
						want += float64(aFull[i*c.k+p]) * float64(b[p*c.ldb+j])
					}
					if got := float64(cm[i*c.n+j]); math.Abs(got-want) > 1e-4*math.Sqrt(float64(c.k)) {
						t.Fatalf("%+v load=%v: C[%d][%d] = %v, want %v", c, load, i, j, got, want)
					}
				}
			}
		}
	}
}

// TestMulPanelsNarrowSameBits checks that the 8×16 and 8×32 kernels compute each value as the
// 8×48 one does (same chain of multiply-adds): the columns of an n = 64 product equal the first
// 64 of the same product padded to n = 96 (and n = 112, 160, 256, whose last 64 columns run as
// two 8×32 panels).
func TestMulPanelsNarrowSameBits(t *testing.T) {
	if !HasPanels() {
		t.Skip("no AVX-512 micro-kernel")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{16, 32, 64, 80, 112, 160, 256} {
		m, k, wide := 16, 150, roundUpTest(n, PanelCols)
		a := make([]float32, m*k)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		b := make([]float32, k*wide)
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		for _, load := range []bool{false, true} {
			cn, cw := make([]float32, m*wide), make([]float32, m*wide)
			for i := range cn {
				cn[i] = float32(i % 3)
				cw[i] = cn[i]
			}
			MulPanels(m, n, k, a, b, wide, cn, wide, load)
			MulPanels(m, wide, k, a, b, wide, cw, wide, load)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					if cn[i*wide+j] != cw[i*wide+j] {
						t.Fatalf("n=%d load=%v: C[%d][%d] = %v with the narrow kernel, %v with the 8×48", n, load, i, j, cn[i*wide+j], cw[i*wide+j])
					}
				}
				for j := n; j < wide; j++ {
					if cn[i*wide+j] != float32((i*wide+j)%3) {
						t.Fatalf("n=%d: C[%d][%d] past n was written", n, i, j)
					}
				}
			}
		}
	}
}

func roundUpTest(x, to int) int { return (x + to - 1) / to * to }
