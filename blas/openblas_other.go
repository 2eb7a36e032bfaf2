//go:build !(linux || darwin || freebsd)

package blas

import (
	"fmt"
	"runtime"
)

// openBLAS stands in for the OpenBLAS backend on platforms where this package does not load
// libraries at run time; loadOpenBLAS always fails there, so it is never used.
type openBLAS struct{}

func loadOpenBLAS() (*openBLAS, error) { return loadOpenBLASFrom([]string{"libopenblas"}) }

func loadOpenBLASFrom(names []string) (*openBLAS, error) {
	name := "libopenblas"
	if len(names) > 0 {
		name = names[0]
	}
	return nil, fmt.Errorf("openblas: %s not found (run-time loading is not supported on %s)", name, runtime.GOOS)
}

// Name returns "openblas".
func (*openBLAS) Name() string { return "openblas" }

func (*openBLAS) describe() string { return "openblas" }

// Sgemm panics: an openBLAS is never handed out on this platform.
func (*openBLAS) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	panic("blas: openblas is not supported on " + runtime.GOOS)
}
