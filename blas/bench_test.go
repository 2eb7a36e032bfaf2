package blas

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/contrastive-go/contrastive/internal/gemm"
)

// BenchmarkSgemm measures each available backend (the go backend picking its micro-kernel per
// shape), and the Go loop nest with each micro-kernel forced (go-8x48, go-6x16, go-4x4),
// reporting GFLOP/s (2·m·n·k per call). Shapes are named m×k×n, as bench/torch_ref.py names them:
// 1024×1152×256 and the 2048³ product DESIGN.md compares with torch.mm.
func BenchmarkSgemm(b *testing.B) {
	shapes := []struct{ m, k, n int }{{1024, 1152, 256}, {2048, 2048, 2048}}
	type variant struct {
		name string
		run  func(m, n, k int, a, bb, c []float32)
	}
	var variants []variant
	for _, name := range Available() {
		be, err := byName(name)
		if err != nil {
			b.Fatal(err)
		}
		variants = append(variants, variant{name, func(m, n, k int, a, bb, c []float32) {
			be.Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
		}})
	}
	for _, kern := range gemm.Kernels() {
		kern := kern // each micro-kernel on its own, for comparison with the go backend's choice
		mr, nr := kern.Tile()
		variants = append(variants, variant{fmt.Sprintf("go-%dx%d", mr, nr), func(m, n, k int, a, bb, c []float32) {
			gemm.SgemmWith(kern, runtime.GOMAXPROCS(0), false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
		}})
	}
	for _, v := range variants {
		for _, s := range shapes {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", v.name, s.m, s.k, s.n), func(b *testing.B) {
				if v.name == "go-4x4" && s.m*s.n*s.k > 1<<30 {
					b.Skip("the portable kernel takes several seconds per 2048³ product")
				}
				rng := rand.New(rand.NewPCG(1, 1))
				a := make([]float32, s.m*s.k)
				bb := make([]float32, s.k*s.n)
				c := make([]float32, s.m*s.n)
				for i := range a {
					a[i] = rng.Float32()
				}
				for i := range bb {
					bb[i] = rng.Float32()
				}
				v.run(s.m, s.n, s.k, a, bb, c) // warm up pools and threads
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					v.run(s.m, s.n, s.k, a, bb, c)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkSgemmSmall measures the per-call cost of each backend on small square products, where
// packing, goroutines and (for openblas) the purego call dominate.
func BenchmarkSgemmSmall(b *testing.B) {
	for _, name := range Available() {
		be, err := byName(name)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range []int{4, 16, 64} {
			a, bb, c := make([]float32, s*s), make([]float32, s*s), make([]float32, s*s)
			b.Run(fmt.Sprintf("%s/%d", name, s), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					be.Sgemm(false, false, s, s, s, 1, a, s, bb, s, 0, c, s)
				}
			})
		}
	}
}
