package im2col

import "golang.org/x/sys/cpu"

// haveCol2imAsm is whether col2imS1PlaneAsm and col2imS2PlaneAsm can run (AVX2).
var haveCol2imAsm = cpu.X86.HasAVX2

// col2imS2PlaneAsm is col2im3x3s2 for one channel: d is the channel's plane of dst (h×w) and s
// its first source row, the others following at a stride of ld; wo = ⌈w/2⌉ and m = ⌊(w−1)/2⌋.
// It sums in the order of the Go loops, so that the results are the same to the bit, eight column
// pairs at a time (four when m < 8). It needs m ≥ 4, and reads only s[k·ld + i] for k < 9 and
// i < ⌈h/2⌉·wo. With zero (w floats of 0) non-nil it adds the sums to zeros instead of to d.
//
//go:noescape
func col2imS2PlaneAsm(d, s *float32, ld, h, w, wo, m int, zero *float32)

// col2imS1PlaneAsm is col2im3x3s1 for one channel: d is the channel's plane of dst (h×w) and s
// its first source row, the others following at a stride of ld. It sums in the order of the Go
// loops, so that the results are the same to the bit, eight interior columns at a time (four
// when w < 10). It needs w ≥ 6, and reads only s[k·ld + i] for k < 9 and i < h·w.
//
//go:noescape
func col2imS1PlaneAsm(d, s *float32, ld, h, w int)
