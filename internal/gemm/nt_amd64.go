package gemm

// hasNT is whether ntKernel3x9 can run (AVX-512F; the same condition as the panel kernels).
var hasNT = hasPanels

//go:noescape
func ntKernel3x9(rows *[12]*float32, kv int, mask uint16, out *[27]float32)
