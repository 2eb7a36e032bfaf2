package gemm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

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
					kern := kernelFor(s.m, s.n, false)
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
