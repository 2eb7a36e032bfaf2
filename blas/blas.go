// Package blas is the engine's GEMM layer: one small interface, chosen once per process.
//
// All matrices are row-major. Sgemm computes
//
//	C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C
//
// where op(X) is X or Xᵀ. lda, ldb and ldc are the row strides of A, B and C as stored
// (A is m×k when not transposed, k×m when transposed; likewise B).
//
// Two backends exist. "openblas" calls cblas_sgemm in a libopenblas found and loaded at run time
// with purego, so the package needs no cgo and builds with CGO_ENABLED=0; its thread count is set
// to GOMAXPROCS. "go" is a blocked, packed GEMM in Go spread over GOMAXPROCS goroutines, whose
// micro-kernels are written in Go assembly (AVX-512 8x48 and AVX2+FMA 6x16, offered by CPUID and
// XGETBV, timed once at first use and picked per product by padded work over speed), with a
// portable 4x4 Go micro-kernel on other CPUs and architectures (package internal/gemm).
//
// The backend is chosen on first use: the environment variable CONTRASTIVE_GEMM=openblas|go forces
// one; otherwise go is used when this CPU runs one of its assembly micro-kernels (it trains faster
// than OpenBLAS through purego here), else openblas when it loads, else go. Describe and Reason say
// what was chosen and why; Use switches backends, for tests and benchmarks.
//
// When beta is 0, C is overwritten: whatever it held before, NaN included, does not matter.
package blas

import "fmt"

// Backend is a single-precision GEMM implementation.
type Backend interface {
	// Name is a short human-readable name, such as "openblas" or "go".
	Name() string
	// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major data.
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// Sgemm runs Default().Sgemm after checking the arguments, panicking with a message that names
// the shapes when they are inconsistent.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	Default().Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// check panics, naming the shapes, when the arguments of an Sgemm call are inconsistent.
func check(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("blas.Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need := func(name string, rows, cols, ld, have int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols {
			panic(fmt.Sprintf("blas.Sgemm: %s is %dx%d but its stride is %d (m=%d n=%d k=%d)", name, rows, cols, ld, m, n, k))
		}
		if have < (rows-1)*ld+cols {
			panic(fmt.Sprintf("blas.Sgemm: %s is %dx%d (stride %d) but has only %d elements (m=%d n=%d k=%d)", name, rows, cols, ld, have, m, n, k))
		}
	}
	need("A", ar, ac, lda, len(a))
	need("B", br, bc, ldb, len(b))
	need("C", m, n, ldc, len(c))
}
