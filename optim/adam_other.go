//go:build !amd64

package optim

// adamLanes is 0: without an assembly kernel the Go loop does all the work.
const adamLanes = 0

func adamAsm(_, _, _, _ *float32, _ int, _ *adamConsts) { panic("optim: no assembly") }
