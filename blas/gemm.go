package blas

import (
	"fmt"
	"runtime"

	"github.com/contrastive-go/contrastive/internal/gemm"
)

// goBackend is the pure-Go GEMM of package internal/gemm (the GotoBLAS loop nest around assembly
// micro-kernels), spread over GOMAXPROCS goroutines.
type goBackend struct{}

// Name returns "go".
func (goBackend) Name() string { return "go" }

// describe reads, for example,
// "go (pure Go, micro-kernels avx512 8x48 at 117 GFLOP/s, avx2+fma 6x16 at 113 GFLOP/s; 2 goroutines)".
func (goBackend) describe() string {
	return fmt.Sprintf("go (pure Go, micro-kernels %s; %d goroutines)", gemm.KernelNames(), runtime.GOMAXPROCS(0))
}

// Sgemm checks its arguments and computes C = alpha·op(A)·op(B) + beta·C.
func (goBackend) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	gemm.Sgemm(runtime.GOMAXPROCS(0), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
