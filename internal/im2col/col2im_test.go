package im2col

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// checkCol2imMatchesGeneric runs Col2im and col2imGeneric on the same random column matrix (row
// stride ld, with values past Cols that both must ignore) and the same non-zero dst, and
// reports the first element that differs by more than 1e-5 relative.
func checkCol2imMatchesGeneric(t *testing.T, rng *rand.Rand, g ConvGeom, ld int) {
	t.Helper()
	src := make([]float32, g.Rows()*ld)
	for i := range src {
		src[i] = float32(rng.NormFloat64())
	}
	for r := 0; r < g.Rows(); r++ {
		for j := g.Cols(); j < ld; j++ {
			src[r*ld+j] = 1e6 // columns of other images: must not be read
		}
	}
	want := make([]float32, g.C*g.H*g.W+1)
	for i := range want {
		want[i] = float32(rng.NormFloat64())
	}
	want[len(want)-1] = 42 // one past the image: must not be written
	got := append([]float32(nil), want...)
	col2imGeneric(g, src, ld, want[:len(want)-1])
	Col2im(g, src, ld, got[:len(got)-1])
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
			c, y, x := i/(g.H*g.W), i/g.W%g.H, i%g.W
			t.Fatalf("%+v ld=%d: dst[%d,%d,%d] = %v, generic gives %v", g, ld, c, y, x, got[i], want[i])
		}
	}
}

// TestCol2im3x3MatchesGeneric checks the 3×3, padding-1, stride-1 and stride-2 fast paths against
// the generic loop on every combination of small and odd sizes, one and several channels, and a
// row stride equal to and wider than one image's columns.
func TestCol2im3x3MatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1, 2, 3, 4, 5, 7, 8, 14, 28}
	for _, stride := range []int{1, 2} {
		for _, c := range []int{1, 3} {
			for _, h := range sizes {
				for _, w := range sizes {
					g := NewConvGeom("test", c, h, w, 3, 3, stride, 1)
					if p := col2imPath(g); p != stride {
						t.Fatalf("%+v: Col2im takes path %d, want the stride-%d fast path", g, p, stride)
					}
					for _, ld := range []int{g.Cols(), g.Cols() + 5} {
						checkCol2imMatchesGeneric(t, rng, g, ld)
					}
				}
			}
		}
	}
}

// TestCol2imOtherGeometriesUseGeneric checks that 3×3 windows without padding 1 or with a stride
// other than 1 or 2 (and the geometries of im2colCases) keep to the generic loop, and still give
// its result.
func TestCol2imOtherGeometriesUseGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	geoms := []ConvGeom{
		NewConvGeom("test", 2, 7, 6, 3, 3, 1, 0),
		NewConvGeom("test", 2, 7, 6, 3, 3, 2, 0),
		NewConvGeom("test", 2, 8, 9, 3, 3, 3, 1),
		NewConvGeom("test", 1, 5, 5, 3, 3, 1, 2),
		NewConvGeom("test", 1, 6, 6, 3, 3, 2, 2),
	}
	for _, c := range im2colCases {
		if c.kh == 3 && c.kw == 3 && c.pad == 1 && c.stride <= 2 {
			continue
		}
		geoms = append(geoms, NewConvGeom("test", c.c, c.h, c.w, c.kh, c.kw, c.stride, c.pad))
	}
	for _, g := range geoms {
		t.Run(fmt.Sprintf("%+v", g), func(t *testing.T) {
			if p := col2imPath(g); p != 0 {
				t.Fatalf("Col2im takes fast path %d, want the generic loop", p)
			}
			checkCol2imMatchesGeneric(t, rng, g, g.Cols())
			checkCol2imMatchesGeneric(t, rng, g, g.Cols()+3)
		})
	}
}
