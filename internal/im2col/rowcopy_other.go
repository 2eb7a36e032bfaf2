//go:build !amd64

package im2col

const haveRowAsm = false

func copyRowAsm(dst, src *float32, runs *run, nruns, off, limit int) { panic("im2col: no assembly") }

func stride2RowAsm(dst, src *float32, runs *run, nruns, off, limit int) { panic("im2col: no assembly") }
