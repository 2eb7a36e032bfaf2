package gemm

import "fmt"

// PackB writes one nr-column panel of op(B), the k×n right-hand operand of a product, into dst
// (len(dst) = kb·nr), in the layout the micro-kernels read:
//
//	dst[p·nr + jj] = op(B)[p0+p][j0+jj]   for p < kb, jj < cols,
//	dst[p·nr + jj] = 0                    for p < kb, cols ≤ jj < nr.
//
// That is, kb rows of nr values, row p holding columns j0 … j0+cols−1 of row p0+p of op(B),
// padded with zeros to nr; the contents of dst on entry are undefined. cols ≤ nr, and
// p0+kb ≤ k, j0+cols ≤ n. nr is the micro-kernel's tile width (48, 16 or 4).
//
// A PackB lets a caller supply op(B) without materialising it: a convolution reads image pixels
// straight into the panels (implicit im2col). GemmPackB may call it from several goroutines at
// once (on different panels) when workers > 1.
type PackB func(dst []float32, nr, p0, j0, kb, cols int)

// GemmPackB computes C = alpha·op(A)·op(B) + beta·C, where op(A) is m×k (A stored row-major with
// stride lda, transposed when transA), C is m×n (stride ldc) and op(B), k×n, exists only through
// packB, which the blocked loop nest calls once for every kc×nr panel of op(B) it needs (each
// panel is packed once per product and shared by all goroutines).
//
// It always runs the pure-Go backend's micro-kernels, whatever backend Default is (OpenBLAS
// cannot take a packing function), on up to workers goroutines (1 for the calling goroutine
// alone). When beta is 0, C is overwritten, NaN included. Inconsistent shapes panic.
func GemmPackB(transA bool, m, n, k int, alpha float32, a []float32, lda int, packB PackB, beta float32, c []float32, ldc int, workers int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm.GemmPackB: negative size m=%d n=%d k=%d", m, n, k))
	}
	if packB == nil {
		panic("gemm.GemmPackB: nil packB")
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	for _, op := range []struct {
		name              string
		rows, cols, ld, n int
	}{{"A", ar, ac, lda, len(a)}, {"C", m, n, ldc, len(c)}} {
		if op.rows == 0 || op.cols == 0 {
			continue
		}
		if op.ld < op.cols || op.n < (op.rows-1)*op.ld+op.cols {
			panic(fmt.Sprintf("gemm.GemmPackB: %s is %dx%d with stride %d in %d elements (m=%d n=%d k=%d)",
				op.name, op.rows, op.cols, op.ld, op.n, m, n, k))
		}
	}
	if m == 0 || n == 0 {
		return
	}
	bf := BF16()
	gemmPacked(kernelFor(m, n, bf), bf, max(1, workers), transA, m, n, k, alpha, a, lda, packB, beta, c, ldc, nil)
}
