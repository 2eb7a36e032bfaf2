package winograd

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/internal/gemm"
)

// BenchmarkTransforms times each AVX-512 transform of one chunk of 64-channel 28×28 images (as
// in ResNet-18's first stage), reporting ns per tile and channel.
func BenchmarkTransforms(b *testing.B) {
	if !Fast(64, 64) {
		b.Skip("no AVX-512 path")
	}
	const c, h, w = 64, 28, 28
	for _, total := range []int{96, 392} {
		nb := (total + 195) / 196
		g := NewGeom(h, w)
		ld := roundUp(total, gemm.PanelCols)
		rng := rand.New(rand.NewPCG(1, 1))
		x := randSlice(rng, nb*c*h*w, 1)
		v := make([]float32, xis*c*ld+64)
		bias := make([]float32, c)
		hw := h * w
		per := float64(total * c)
		groups := g.rowGroups(nil, 0, total, c*hw, c*hw)
		b.Run(fmt.Sprintf("input16r/tiles=%d", total), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				col := 0
				for k := range groups {
					input16r(&x[0], &groups[k], hw, w, c, &v[col], ld, c*ld)
					col += groups[k].n
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/per, "ns/tile-chan")
		})
		b.Run(fmt.Sprintf("output16r/tiles=%d", total), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				col := 0
				for k := range groups {
					output16r(&v[col], ld, c*ld, c, &x[0], hw, w, &groups[k], &bias[0])
					col += groups[k].n
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/per, "ns/tile-chan")
		})
		b.Run(fmt.Sprintf("gemm/tiles=%d", total), func(b *testing.B) {
			up := make([]float32, xis*c*c)
			m := make([]float32, xis*c*ld)
			for i := 0; i < b.N; i++ {
				for xi := 0; xi < xis; xi++ {
					gemm.MulPanels(c, ld, c, up[xi*c*c:], v[xi*c*ld:], ld, m[xi*c*ld:], ld, false)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/per, "ns/tile-chan")
			b.ReportMetric(2*xis*float64(c*c*ld)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkFilters times the transformed filters of a 512→512 convolution (forward, and input
// gradient), reporting ns per filter.
func BenchmarkFilters(b *testing.B) {
	const c = 512
	rng := rand.New(rand.NewPCG(1, 1))
	w := randSlice(rng, c*c*9, 1)
	u := make([]float32, xis*c*c)
	for _, ig := range []bool{false, true} {
		b.Run(fmt.Sprintf("inputGrad=%v", ig), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				packedFilters(w, c, c, ig, u)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c*c), "ns/filter")
		})
	}
}
