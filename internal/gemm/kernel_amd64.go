package gemm

// Micro-kernels in kernel_amd64.s; see microKernel for the contract.

//go:noescape
func kernelAVX2x6x16(k int, a, b *float32, ldb int, c *float32, ldc int, load bool)

//go:noescape
func kernelAVX512x8x48(k int, a, b *float32, ldb int, c *float32, ldc int, load bool)

//go:noescape
func kernelAVX512x8x16(k int, a, b *float32, ldb int, c *float32, ldc int, load bool)

//go:noescape
func kernelAVX512x8x32(k int, a, b *float32, ldb int, c *float32, ldc int, load bool)

func cpuid(eaxIn, ecxIn uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

var (
	avx2Kernel   = &kernel{name: "avx2+fma 6x16", mr: 6, nr: 16, kc: 192, mc: 96, nc: 1024, fn: kernelAVX2x6x16}
	avx512Kernel = &kernel{name: "avx512 8x48", mr: 8, nr: 48, kc: 256, mc: 128, nc: 3072, fn: kernelAVX512x8x48}
)

// hasPanels says whether MulPanels' kernel, the AVX-512 8×48 one, runs here.
var hasPanels = func() bool { _, avx512 := cpuFeatures(); return avx512 }()

func panelKernel(k int, a, b *float32, ldb int, c *float32, ldc int, load bool) {
	kernelAVX512x8x48(k, a, b, ldb, c, ldc, load)
}

// panelKernelNarrow is the 8×16 (cols 16) or 8×32 (cols 32) kernel of MulPanels' last columns.
func panelKernelNarrow(cols, k int, a, b *float32, ldb int, c *float32, ldc int, load bool) {
	if cols == 16 {
		kernelAVX512x8x16(k, a, b, ldb, c, ldc, load)
	} else {
		kernelAVX512x8x32(k, a, b, ldb, c, ldc, load)
	}
}

// kernels lists the micro-kernels this CPU and operating system can run, fastest first.
func kernels() []*kernel {
	hasAVX2, hasAVX512 := cpuFeatures()
	var ks []*kernel
	if hasAVX512 {
		ks = append(ks, avx512Kernel)
	}
	if hasAVX2 {
		ks = append(ks, avx2Kernel)
	}
	return append(ks, goKernel4x4)
}

// cpuFeatures reports AVX2+FMA and AVX-512F support, including the operating system's promise
// (XCR0) to save the wider registers.
func cpuFeatures() (avx2fma, avx512 bool) {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false, false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false, false
	}
	xcr0, _ := xgetbv()
	if xcr0&0x6 != 0x6 { // XMM and YMM state
		return false, false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	avx2fma = ebx7&(1<<5) != 0
	avx512 = avx2fma && ebx7&(1<<16) != 0 && xcr0&0xe0 == 0xe0 // opmask, ZMM_Hi256, Hi16_ZMM state
	return avx2fma, avx512
}
