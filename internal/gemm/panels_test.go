package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMulPanels checks MulPanels against a loop: overwrite and accumulate, k shorter and longer
// than PanelDepth (several register runs), B read in place with a stride wider than n and with
// one narrower than n (only the first ldb columns checked).
func TestMulPanels(t *testing.T) {
	if !HasPanels() {
		t.Skip("no AVX-512 micro-kernel")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ m, n, k, ldb int }{{8, 48, 5, 48}, {16, 96, 64, 100}, {24, 48, 150, 48}, {8, 96, 70, 64}} {
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
