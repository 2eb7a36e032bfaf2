//go:build !amd64

package vec

// simdLen is 0: without assembly kernels the Go loops do all the work.
func simdLen(int) int { return 0 }

func sumAsm(*float32, int, float32, bool) float32             { panic("vec: no assembly") }
func affineAsm(_, _ *float32, _ int, _, _, _ float32, _ bool) { panic("vec: no assembly") }
func sumProdDevAsm(_, _ *float32, _ int, _, _, _ float32, _ bool) (float32, float32) {
	panic("vec: no assembly")
}
func linCombAsm(_, _, _ *float32, _ int, _, _, _, _, _, _ float32, _, _ bool) {
	panic("vec: no assembly")
}
func addPositiveAsm(_, _, _ *float32, _ int)    { panic("vec: no assembly") }
func selectPositiveAsm(_, _, _ *float32, _ int) { panic("vec: no assembly") }

func affineAddReLUAsm(_, _, _ *float32, _ int, _, _, _ float32) { panic("vec: no assembly") }

func selectSumProdDevAsm(_, _, _, _ *float32, _ int, _ float32) (float32, float32) {
	panic("vec: no assembly")
}
