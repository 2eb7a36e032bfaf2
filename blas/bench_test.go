package blas

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
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
	for _, kern := range kernels() {
		kern := kern // each micro-kernel on its own, for comparison with the go backend's choice
		variants = append(variants, variant{fmt.Sprintf("go-%dx%d", kern.mr, kern.nr), func(m, n, k int, a, bb, c []float32) {
			gemm(kern, runtime.GOMAXPROCS(0), false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
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

// BenchmarkConvShapes measures, on one goroutine (as inside a convolution's chunk), the products
// of ResNet-18-CIFAR's convolutions (28×28 input, 392- and 784-column chunks; and 384-, 512-,
// 1024-column ones), reporting GFLOP/s: fwd W·col (GemmPackedA), dX Wᵀ·G (GemmPackedA) and dW
// G·colᵀ (GemmPackB, op(B) transposed), named by Cout (and the chunk's columns). B comes from
// MatrixB rather than the im2col packers, so packing B costs less than in situ (notably for dW).
//
// Environment: BLAS_CONV_COLD=1 rotates the B and C matrices through about 96 MB, so that they
// come from memory, as a chunk's fresh output does, rather than from the cache; BLAS_CONV_BLOCKS
// ="kc,mc,nc;kc,mc,nc" runs each shape with each blocking of the micro-kernel it gets instead
// of the kernel's own (for tuning; the sub-benchmarks of one run alternate, which makes them comparable on
// a machine whose speed drifts).
func BenchmarkConvShapes(b *testing.B) {
	type shape struct {
		name    string
		m, k, n int
		dW      bool // GemmPackB with B transposed; else GemmPackedA
	}
	shapes := []shape{
		{"fwd64-784", 64, 576, 784, false},
		{"fwd128-392", 128, 1152, 392, false},
		{"fwd256-392", 256, 2304, 392, false},
		{"fwd512-384", 512, 4608, 384, false},
		{"fwd64-1024", 64, 576, 1024, false},
		{"fwd128-512", 128, 1152, 512, false},
		{"dX64-784", 576, 64, 784, false},
		{"dX128-392", 1152, 128, 392, false},
		{"dX256-392", 2304, 256, 392, false},
		{"dX512-384", 4608, 512, 384, false},
		{"dW64-784", 64, 784, 576, true},
		{"dW128-392", 128, 392, 1152, true},
		{"dW256-392", 256, 392, 2304, true},
		{"dW512-384", 512, 384, 4608, true},
	}
	type blocks struct{ kc, mc, nc int }
	var cfgs []*blocks // nil: the kernels' own blocking
	if s := os.Getenv("BLAS_CONV_BLOCKS"); s != "" {
		for _, c := range strings.Split(s, ";") {
			var bl blocks
			if _, err := fmt.Sscanf(c, "%d,%d,%d", &bl.kc, &bl.mc, &bl.nc); err != nil || bl.kc < 1 || bl.mc < 1 || bl.nc < 1 {
				b.Fatalf("BLAS_CONV_BLOCKS: %q is not kc,mc,nc", c)
			}
			cfgs = append(cfgs, &bl)
		}
	} else {
		cfgs = []*blocks{nil}
	}
	cold := os.Getenv("BLAS_CONV_COLD") != ""
	for _, s := range shapes {
		nbuf := 1
		if cold {
			nbuf = max(1, (96<<20)/(4*(s.m*s.n+s.k*s.n)))
		}
		rng := rand.New(rand.NewPCG(1, 1))
		a := make([]float32, s.m*s.k)
		for i := range a {
			a[i] = rng.Float32()
		}
		bs, cs := make([][]float32, nbuf), make([][]float32, nbuf)
		for i := range bs {
			bs[i], cs[i] = make([]float32, s.k*s.n), make([]float32, s.m*s.n)
			for j := range bs[i] {
				bs[i][j] = rng.Float32()
			}
		}
		ldb := s.n
		if s.dW {
			ldb = s.k
		}
		for _, bl := range cfgs {
			name := s.name
			if bl != nil {
				name += fmt.Sprintf("/kc%d-mc%d-nc%d", bl.kc, bl.mc, bl.nc)
			}
			b.Run(name, func(b *testing.B) {
				if bl != nil {
					kern := kernelFor(s.m, s.n)
					if bl.mc%kern.mr != 0 || bl.nc%kern.nr != 0 {
						b.Skipf("%s: mc must be a multiple of %d, nc of %d", kern.name, kern.mr, kern.nr)
					}
					save := *kern
					defer func() { *kern = save }()
					kern.kc, kern.mc, kern.nc = bl.kc, bl.mc, bl.nc
				}
				var pa *PackedA
				if !s.dW {
					pa = NewPackedA(false, s.m, s.k, 1, a, s.k, s.n)
					defer pa.Release()
				}
				it := 0
				run := func() {
					it++
					bb, c := bs[it%nbuf], cs[it%nbuf]
					if pa != nil {
						GemmPackedA(pa, s.n, MatrixB(false, bb, ldb), 0, c, s.n, 1)
					} else {
						GemmPackB(false, s.m, s.n, s.k, 1, a, s.k, MatrixB(true, bb, ldb), 0, c, s.n, 1)
					}
				}
				run() // warm up the pools
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					run()
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
