package optim

import "golang.org/x/sys/cpu"

// adamLanes is how many elements the assembly kernel takes at a time: 8 with AVX-512 (float64
// lanes in ZMM registers), 4 with AVX2 (YMM), or 0 without either, when the Go loop does all.
// x/sys/cpu also checks that the operating system saves the wide registers.
var adamLanes = func() int {
	switch {
	case cpu.X86.HasAVX512F:
		return 8
	case cpu.X86.HasAVX2:
		return 4
	}
	return 0
}()

// adamAsm runs adamGo's arithmetic on the first n elements, n a positive multiple of 8 (AVX-512)
// or 4 (AVX2), in float64 lanes with one IEEE operation per Go operation in the same order and no
// fused multiply-add, so every element comes out as the Go loop's.
func adamAsm(w, grad, m, v *float32, n int, k *adamConsts) {
	if adamLanes == 8 {
		adamAVX512(w, grad, m, v, n, k)
	} else {
		adamAVX2(w, grad, m, v, n, k)
	}
}

// The kernels in adam_amd64.s.

//go:noescape
func adamAVX2(w, grad, m, v *float32, n int, k *adamConsts)

//go:noescape
func adamAVX512(w, grad, m, v *float32, n int, k *adamConsts)
