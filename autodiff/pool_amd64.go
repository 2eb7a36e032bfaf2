package autodiff

import "golang.org/x/sys/cpu"

// maxPoolAsm is whether MaxPool2dPadded's 3×3 stride-2 windows inside the plane run in
// maxPool3s2AVX512 (AVX-512, with the operating system saving the ZMM and mask registers).
var maxPoolAsm = cpu.X86.HasAVX512F

//go:noescape
func maxPool3s2AVX512(y *float32, arg *int32, src *float32, b, w, groups int)
