//go:build !(linux || darwin || freebsd)

package blas

import "errors"

// openBLAS is unavailable on this platform: purego's dlopen is not supported here.
type openBLAS struct{ Backend }

func loadOpenBLAS() (*openBLAS, error) {
	return nil, errors.New("openblas: run-time loading is not supported on this platform")
}

func (o *openBLAS) describe() string { return "openblas" }
