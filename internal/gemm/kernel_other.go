//go:build !amd64

package gemm

// kernels lists the micro-kernels this CPU can run, fastest first.
func kernels() []*kernel { return []*kernel{goKernel4x4} }

const hasPanels = false

func panelKernel(k int, a, b *float32, ldb int, c *float32, ldc int, load bool) {
	panic("unreachable")
}

func panelKernelNarrow(cols, k int, a, b *float32, ldb int, c *float32, ldc int, load bool) {
	panic("unreachable")
}

// avx512Kernel is the kernel whose bfloat16 twin gemmPacked runs: none here.
var avx512Kernel *kernel
