//go:build !amd64

package tensor

const haveRowAsm = false

func copyRowAsm(dst, src *float32, runs *run, nruns, off, limit int) { panic("tensor: no assembly") }

func stride2RowAsm(dst, src *float32, runs *run, nruns, off, limit int) { panic("tensor: no assembly") }
