//go:build !amd64

package tensor

const haveStride2Asm = false

func stride2RowAsm(dst, src *float32, runs *run, nruns, off, limit int) { panic("tensor: no assembly") }
