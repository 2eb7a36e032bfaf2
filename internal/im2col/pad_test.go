package im2col

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPadImagesMatchesGo compares PadImages (on amd64 with AVX-512, padPlanesAsm) with the row
// loop padImagesGo on widths around the 16-lane chunks and past the assembly's limit, paddings
// 0 to 3 and several planes, and checks that nothing after the padded copy is written.
func TestPadImagesMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ ch, h, w, pad int }{
		{1, 28, 28, 1}, {3, 14, 14, 1}, {2, 7, 7, 1}, {5, 4, 4, 1}, {2, 1, 1, 1}, {3, 3, 14, 1},
		{1, 5, 15, 1}, {2, 6, 16, 0}, {2, 9, 17, 3}, {1, 96, 96, 3}, {2, 3, 126, 1}, {1, 2, 127, 1},
		{1, 3, 140, 2}, {4, 8, 8, 2}, {1, 2, 30, 17},
	} {
		for _, nb := range []int{1, 3} {
			name := fmt.Sprintf("%+v/nb=%d", c, nb)
			g := NewConvGeom("test", c.ch, c.h, c.w, 3, 3, 1, c.pad)
			x := make([]float32, nb*c.ch*c.h*c.w)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			n := g.PaddedLen(nb)
			got, want := make([]float32, n+20), make([]float32, n+20)
			for i := range got {
				got[i], want[i] = float32(math.NaN()), float32(math.NaN())
			}
			PadImages(g, x, nb, got)
			padImagesGo(g, x, nb, want)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s: value %d of %d: %v, want %v", name, i, n, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkPadImages times PadImages on the reference model's padded inputs (512 images) and
// on ResNet-18's 56×56 ones, reporting GB/s of padded output.
func BenchmarkPadImages(b *testing.B) {
	for _, c := range []struct{ ch, h, w, nb int }{{32, 14, 14, 512}, {64, 7, 7, 512}, {1, 28, 28, 512}, {64, 56, 56, 16}} {
		g := NewConvGeom("bench", c.ch, c.h, c.w, 3, 3, 1, 1)
		x, xp := make([]float32, c.nb*c.ch*c.h*c.w), make([]float32, g.PaddedLen(c.nb))
		for _, impl := range []struct {
			name string
			f    func(ConvGeom, []float32, int, []float32)
		}{{"PadImages", PadImages}, {"go", padImagesGo}} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", c.ch, c.h, c.w, impl.name), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					impl.f(g, x, c.nb, xp)
				}
				b.ReportMetric(float64(4*len(xp))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}
