//go:build amd64

package loss

//go:noescape
func expShiftAVX2(v *float32, n int, m, scale float32) float64

func cpuidLoss(eaxIn, ecxIn uint32) (eax, ebx, ecx, edx uint32)

func xgetbvLoss() (eax, edx uint32)

// haveAVX2FMA reports AVX2 and FMA support, including the operating system's promise (XCR0) to
// save the YMM registers.
var haveAVX2FMA = func() bool {
	if maxLeaf, _, _, _ := cpuidLoss(0, 0); maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuidLoss(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbvLoss(); xcr0&0x6 != 0x6 {
		return false
	}
	_, ebx7, _, _ := cpuidLoss(7, 0)
	return ebx7&(1<<5) != 0
}()

// expShiftVec does the largest multiple of 8 of v with AVX2 when the CPU has it, returning how
// many elements it did and their sum.
func expShiftVec(v []float32, m, scale float32) (int, float64) {
	n := len(v) &^ 7
	if !haveAVX2FMA || n == 0 {
		return 0, 0
	}
	return n, expShiftAVX2(&v[0], n, m, scale)
}
