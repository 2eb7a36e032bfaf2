package gemm

import (
	"fmt"
	"testing"
)

// BenchmarkMulPanels measures MulPanels on one goroutine with every operand in cache, in the
// shapes the Winograd products take (m output channels, n tiles, k input channels), reporting
// GFLOP/s: the micro-kernel's ceiling inside those convolutions.
func BenchmarkMulPanels(b *testing.B) {
	if !HasPanels() {
		b.Skip("no AVX-512 micro-kernel")
	}
	for _, s := range []struct{ m, n, k int }{{64, 96, 64}, {128, 48, 128}, {256, 48, 256}, {512, 48, 512}, {256, 96, 256}, {64, 192, 64}, {128, 96, 128}, {256, 192, 256}} {
		b.Run(fmt.Sprintf("m%d-n%d-k%d", s.m, s.n, s.k), func(b *testing.B) {
			a, bb, c := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
			for i := range a {
				a[i] = float32(i%7) * 0.1
			}
			for i := range bb {
				bb[i] = float32(i%5) * 0.1
			}
			for i := 0; i < b.N; i++ {
				MulPanels(s.m, s.n, s.k, a, bb, s.n, c, s.n, false)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMulPanelsBF16 is BenchmarkMulPanels for the bfloat16 products (operands already in
// the pair layout; GFLOP/s counts each of the m·n·k multiply-adds as two).
func BenchmarkMulPanelsBF16(b *testing.B) {
	if !HasBF16() {
		b.Skip("no AVX512_BF16")
	}
	for _, s := range []struct{ m, n, k int }{{64, 96, 64}, {128, 48, 128}, {256, 48, 256}, {512, 48, 512}, {256, 96, 256}, {64, 192, 64}, {128, 96, 128}, {256, 192, 256}} {
		b.Run(fmt.Sprintf("m%d-n%d-k%d", s.m, s.n, s.k), func(b *testing.B) {
			a, bb, c := make([]uint32, s.m*s.k/2), make([]uint32, s.k/2*s.n), make([]float32, s.m*s.n)
			for i := range a {
				a[i] = 0x3e003e80
			}
			for i := range bb {
				bb[i] = 0x3e803e00
			}
			for i := 0; i < b.N; i++ {
				MulPanelsBF16(s.m, s.n, s.k/2, a, bb, s.n, c, s.n, false)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
