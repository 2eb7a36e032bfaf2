//go:build !amd64

package gemm

const hasBF16 = false

func bf16Kernel(cols, kp int, a, b *uint32, ldb int, c *float32, ldc int, load bool) {
	panic("gemm: no bfloat16 kernel on this CPU")
}

func pairRowsAsm(src []float32, ld, w, pairs int, dst []uint32, ldd int) {
	panic("gemm: no bfloat16 conversion on this CPU")
}

func pairPanelAsm(src []float32, quads int, dst []uint32) {
	panic("gemm: no bfloat16 conversion on this CPU")
}
