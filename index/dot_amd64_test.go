package index

type kernel struct {
	name  string
	dot   func(a, b []float32) float32
	dotU8 func(q []float32, c []uint8) float32
}

// otherKernels are the assembly kernels besides the default one that this CPU can run.
func otherKernels() []kernel {
	var ks []kernel
	if useAVX2 {
		ks = append(ks, kernel{"avx2",
			func(a, b []float32) float32 {
				n := len(a) &^ 7
				s := float32(0)
				if n > 0 {
					s = dot256(&a[0], &b[0], n)
				}
				return s + dotGo(a[n:], b[n:])
			},
			func(q []float32, c []uint8) float32 {
				n := len(q) &^ 7
				s := float32(0)
				if n > 0 {
					s = dotU8256(&q[0], &c[0], n)
				}
				return s + dotU8Go(q[n:], c[n:])
			}})
	}
	return ks
}
