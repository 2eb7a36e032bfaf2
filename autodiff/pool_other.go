//go:build !amd64

package autodiff

// maxPoolAsm is false: without the assembly kernel the Go loop takes every window.
var maxPoolAsm = false

func maxPool3s2AVX512(_ *float32, _ *int32, _ *float32, _, _, _ int) { panic("autodiff: no assembly") }
