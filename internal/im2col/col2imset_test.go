package im2col

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestCol2imSetMatchesCol2im writes dst full of NaN with Col2imSet and compares it, bit for bit,
// with Col2im into a cleared dst: 3×3 stride-2 windows on the assembly (m ≥ 4: widths 9 to 28,
// odd and even sizes) and below it (widths 3 to 8), sources holding −0, and the fallback
// geometries (stride 1, 1×1).
func TestCol2imSetMatchesCol2im(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ ch, h, w, k, stride, pad int }{
		{3, 28, 28, 3, 2, 1}, {2, 14, 14, 3, 2, 1}, {2, 9, 9, 3, 2, 1}, {2, 13, 10, 3, 2, 1}, {1, 7, 17, 3, 2, 1},
		{2, 7, 7, 3, 2, 1}, {2, 4, 4, 3, 2, 1}, {1, 5, 3, 3, 2, 1}, {2, 6, 6, 3, 1, 1}, {3, 28, 28, 1, 2, 0},
	} {
		g := NewConvGeom("test", c.ch, c.h, c.w, c.k, c.k, c.stride, c.pad)
		ld := g.Cols() + 3
		src := make([]float32, g.Rows()*ld)
		for i := range src {
			src[i] = float32(rng.NormFloat64())
			if i%7 == 0 {
				src[i] = float32(math.Copysign(0, -1))
			}
		}
		n := c.ch * c.h * c.w
		want, got := make([]float32, n+1), make([]float32, n+1)
		for i := range got {
			got[i] = float32(math.NaN())
		}
		want[n], got[n] = 7, 7
		Col2im(g, src, ld, want[:n])
		Col2imSet(g, src, ld, got[:n])
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: value %d of %d: %v, want %v", fmt.Sprintf("%+v", c), i, n, got[i], want[i])
			}
		}
		for _, z := range zeros {
			if z != 0 {
				t.Fatalf("%+v: the shared zero row was written", c)
			}
		}
	}
}
