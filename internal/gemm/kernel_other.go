//go:build !amd64

package gemm

// kernels lists the micro-kernels this CPU can run, fastest first.
func kernels() []*kernel { return []*kernel{goKernel4x4} }
