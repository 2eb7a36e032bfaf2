package gemm

import "fmt"

// PackedA is alpha·op(A), m×k, packed once into the micro-kernel's row panels, for several
// products with the same left-hand side: a convolution multiplies its weights by every chunk of
// images, and would otherwise pack all of them again for each chunk (and each column block).
// It is read-only once built, so products on several goroutines may share it.
type PackedA struct {
	kern  *kernel
	bf16  bool // its products are bfloat16 ones (BF16 when it was packed)
	m, k  int
	mcMax int
	buf   *[]float32
}

// NewPackedA packs alpha·op(A), where op(A) is m×k (A stored row-major with stride lda,
// transposed when transA), for products with about n columns (n picks the micro-kernel, as
// GemmPackB would for that shape). Release returns the memory to the package's pool.
// Inconsistent shapes panic.
func NewPackedA(transA bool, m, k int, alpha float32, a []float32, lda int, n int) *PackedA {
	if m < 0 || k < 0 {
		panic(fmt.Sprintf("gemm.NewPackedA: negative size m=%d k=%d", m, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	if ar > 0 && ac > 0 && (lda < ac || len(a) < (ar-1)*lda+ac) {
		panic(fmt.Sprintf("gemm.NewPackedA: A is %dx%d with stride %d in %d elements", ar, ac, lda, len(a)))
	}
	bf := BF16()
	kern := kernelFor(m, max(n, 1), bf)
	pa := &PackedA{kern: kern, bf16: bf, m: m, k: k, mcMax: min(kern.mc, roundUp(m, kern.mr))}
	pa.buf = getBuf((m+kern.mc-1)/kern.mc*pa.mcMax*k + kern.mr*kern.kc)
	for ic := 0; ic < m; ic += kern.mc {
		mb := min(kern.mc, m-ic)
		for pc := 0; pc < k; pc += kern.kc {
			kb := min(kern.kc, k-pc)
			packA(pa.block(ic, pc, mb, kb), kern.mr, transA, alpha, a, lda, ic, pc, mb, kb)
		}
	}
	return pa
}

// block is the packed rows ic..ic+mb, depth pc..pc+kb: the layout packA writes.
func (pa *PackedA) block(ic, pc, mb, kb int) []float32 {
	rows := roundUp(mb, pa.kern.mr)
	off := ic/pa.kern.mc*pa.mcMax*pa.k + rows*pc
	return (*pa.buf)[off : off+rows*kb]
}

// Release returns the packed values to the pool; pa must not be used afterwards.
func (pa *PackedA) Release() {
	if pa.buf != nil {
		putBuf(pa.buf)
		pa.buf = nil
	}
}

// GemmPackedA computes C = A'·op(B) + beta·C, with A' the m×k matrix pa holds (alpha already
// in it), op(B) k×n supplied panel by panel by packB (see PackB; MatrixB for an ordinary
// matrix) and C m×n with stride ldc, on up to workers goroutines. It runs pa's micro-kernel.
func GemmPackedA(pa *PackedA, n int, packB PackB, beta float32, c []float32, ldc int, workers int) {
	if pa.buf == nil {
		panic("gemm.GemmPackedA: the PackedA was released")
	}
	if n < 0 || packB == nil {
		panic(fmt.Sprintf("gemm.GemmPackedA: n=%d, packB nil: %v", n, packB == nil))
	}
	if n > 0 && (ldc < n || len(c) < (pa.m-1)*ldc+n) {
		panic(fmt.Sprintf("gemm.GemmPackedA: C is %dx%d with stride %d in %d elements", pa.m, n, ldc, len(c)))
	}
	gemmPacked(pa.kern, pa.bf16, max(1, workers), false, pa.m, n, pa.k, 1, nil, 0, packB, beta, c, ldc, pa)
}

// MatrixB is the PackB of an ordinary matrix: op(B) k×n, B stored row-major with stride ldb,
// transposed when transB.
func MatrixB(transB bool, b []float32, ldb int) PackB {
	return func(dst []float32, nr, p0, j0, kb, cols int) {
		packBPanel(dst, nr, transB, b, ldb, p0, j0, kb, cols)
	}
}
