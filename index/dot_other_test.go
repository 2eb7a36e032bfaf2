//go:build !amd64

package index

type kernel struct {
	name  string
	dot   func(a, b []float32) float32
	dotU8 func(q []float32, c []uint8) float32
}

func otherKernels() []kernel { return nil }
