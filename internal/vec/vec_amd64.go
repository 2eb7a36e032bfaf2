package vec

import "golang.org/x/sys/cpu"

// useAVX2 is whether the assembly kernels run (AVX2 and FMA, with the operating system saving
// the YMM registers, which x/sys/cpu checks).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// simdLen is how many leading elements of an n-element slice the assembly handles: whole groups
// of eight, or none without AVX2.
func simdLen(n int) int {
	if !useAVX2 {
		return 0
	}
	return n &^ 7
}

// The kernels in vec_amd64.s; n is a positive multiple of 8.

//go:noescape
func sumAsm(x *float32, n int, mu float32, sq bool) float32

//go:noescape
func affineAsm(y, x *float32, n int, a, mu, b float32, relu bool)

//go:noescape
func affineAddReLUAsm(y, x, s *float32, n int, a, mu, b float32)

//go:noescape
func selectSumProdDevAsm(dst, gr, z, x *float32, n int, mu float32) (sg, sgd float32)

//go:noescape
func sumProdDevAsm(gr, x *float32, n int, mu, ra, rb float32, mask bool) (sg, sgd float32)

//go:noescape
func linCombAsm(dst, gr, x *float32, n int, a, b, mu, k, ra, rb float32, mask, acc bool)

//go:noescape
func addPositiveAsm(dst, gr, x *float32, n int)

//go:noescape
func selectPositiveAsm(dst, gr, x *float32, n int)
