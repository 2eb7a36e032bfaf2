// Package blas is the engine's GEMM layer: one small interface, chosen once per process.
//
// All matrices are row-major. Sgemm computes
//
//	C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C
//
// where op(X) is X or Xᵀ. lda, ldb and ldc are the row strides of A, B and C as stored
// (A is m×k when not transposed, k×m when transposed; likewise B).
package blas

import "fmt"

// Backend is a single-precision GEMM implementation.
type Backend interface {
	// Name is a short human-readable name, such as "openblas" or "go".
	Name() string
	// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major data.
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

var current Backend = naive{}

// Default returns the backend in use.
func Default() Backend { return current }

// Sgemm runs Default().Sgemm after checking the arguments, panicking with a message that names
// the shapes when they are inconsistent.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	current.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

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
			panic(fmt.Sprintf("blas.Sgemm: %s is %dx%d but its stride is %d", name, rows, cols, ld))
		}
		if have < (rows-1)*ld+cols {
			panic(fmt.Sprintf("blas.Sgemm: %s is %dx%d (stride %d) but has only %d elements", name, rows, cols, ld, have))
		}
	}
	need("A", ar, ac, lda, len(a))
	need("B", br, bc, ldb, len(b))
	need("C", m, n, ldc, len(c))
}

// naive is a placeholder reference implementation used until the real backends are selected.
type naive struct{}

func (naive) Name() string { return "naive" }

func (naive) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
