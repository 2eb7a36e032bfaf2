package im2col

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestIm2colPanelsMatchIm2col packs every panel of the column matrix of a small batch, and of its
// transpose, the way a blocked GEMM asks for them (depth blocks of kc rows, nr-column panels),
// and compares each with the same panel copied out of the explicit Im2col matrix, padding
// columns included. Panel widths cover the micro-kernels' 4, 16 and 48 and one wider than the
// stack tables.
func TestIm2colPanelsMatchIm2col(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range im2colCases {
		for _, nb := range []int{1, 3} {
			g := NewConvGeom("test", c.c, c.h, c.w, c.kh, c.kw, c.stride, c.pad)
			x := make([]float32, nb*c.c*c.h*c.w)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			xp := make([]float32, g.PaddedLen(nb))
			for i := range xp {
				xp[i] = float32(math.NaN()) // PadImages must write every value
			}
			PadImages(g, x, nb, xp)
			k, n := g.Rows(), nb*g.Cols()
			col := make([]float32, k*n)
			for b := 0; b < nb; b++ {
				Im2col(g, x[b*c.c*c.h*c.w:], col[b*g.Cols():], n)
			}
			for _, nr := range []int{4, 16, 48, 80} {
				for _, kc := range []int{5, 256} {
					name := fmt.Sprintf("%+v/nb=%d/nr=%d/kc=%d", c, nb, nr, kc)
					// op(B) = col: k×n.
					checkPanels(t, name+"/col", k, n, nr, kc, func(p, j int) float32 { return col[p*n+j] },
						func(dst []float32, p0, j0, kb, cols int) { Im2colPanel(g, xp, dst, nr, p0, j0, kb, cols) })
					// op(B) = colᵀ: n×k.
					checkPanels(t, name+"/colT", n, k, nr, kc, func(p, j int) float32 { return col[j*n+p] },
						func(dst []float32, p0, j0, kb, cols int) { Im2colTPanel(g, xp, dst, nr, p0, j0, kb, cols) })
				}
			}
		}
	}
}

// checkPanels packs every kc×nr panel of the rows×cols matrix at with pack, into buffers holding
// NaN, and reports the first element that differs from at (or from 0 in the padding).
func checkPanels(t *testing.T, name string, rows, cols, nr, kc int, at func(p, j int) float32, pack func(dst []float32, p0, j0, kb, cols int)) {
	t.Helper()
	for p0 := 0; p0 < rows; p0 += kc {
		kb := min(kc, rows-p0)
		for j0 := 0; j0 < cols; j0 += nr {
			w := min(nr, cols-j0)
			dst := make([]float32, kb*nr+1)
			for i := range dst {
				dst[i] = float32(math.NaN())
			}
			pack(dst[:kb*nr], p0, j0, kb, w)
			if !math.IsNaN(float64(dst[kb*nr])) {
				t.Fatalf("%s: panel (%d,%d) wrote past its end", name, p0, j0)
			}
			for p := 0; p < kb; p++ {
				for jj := 0; jj < nr; jj++ {
					var want float32
					if jj < w {
						want = at(p0+p, j0+jj)
					}
					if got := dst[p*nr+jj]; got != want {
						t.Fatalf("%s: panel (%d,%d) [%d][%d] = %v, want %v", name, p0, j0, p, jj, got, want)
					}
				}
			}
		}
	}
}

// BenchmarkIm2colPanels times the implicit-im2col packers on the reference model's conv2 and conv3
// and on two ResNet-like stride-1 3×3 convolutions (output widths 28 and 7) over 8 images, as
// gemm.GemmPackB calls them (kc = 256 rows, nr = 48), per element packed.
func BenchmarkIm2colPanels(b *testing.B) {
	for _, c := range []struct {
		name                         string
		c, h, w, kh, kw, stride, pad int
	}{
		{"conv2", 32, 28, 28, 3, 3, 2, 1}, {"conv3", 64, 14, 14, 3, 3, 2, 1},
		{"s1c64w28", 64, 28, 28, 3, 3, 1, 1}, {"s1c256w7", 256, 7, 7, 3, 3, 1, 1}, {"stem7x7", 3, 96, 96, 7, 7, 2, 3},
	} {
		g := NewConvGeom("bench", c.c, c.h, c.w, c.kh, c.kw, c.stride, c.pad)
		const nb, nr, kc = 8, 48, 256
		x := make([]float32, nb*c.c*c.h*c.w)
		for i := range x {
			x[i] = float32(i % 13)
		}
		dst := make([]float32, kc*nr)
		xp := make([]float32, g.PaddedLen(nb))
		PadImages(g, x, nb, xp)
		k, p := g.Rows(), nb*g.Cols()
		b.Run(c.name+"/col", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				for r0 := 0; r0 < k; r0 += kc {
					rows := min(kc, k-r0)
					for j0 := 0; j0 < p; j0 += nr {
						Im2colPanel(g, xp, dst, nr, r0, j0, rows, min(nr, p-j0))
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k*p), "ns/elem")
		})
		b.Run(c.name+"/colT", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				for p0 := 0; p0 < p; p0 += kc {
					rows := min(kc, p-p0)
					for j0 := 0; j0 < k; j0 += nr {
						Im2colTPanel(g, xp, dst, nr, p0, j0, rows, min(nr, k-j0))
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k*p), "ns/elem")
		})
	}
}
