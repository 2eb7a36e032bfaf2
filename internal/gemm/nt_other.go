//go:build !amd64

package gemm

const hasNT = false

func ntKernel3x9(rows *[12]*float32, kv int, mask uint16, out *[27]float32) {
	panic("gemm: no assembly")
}
