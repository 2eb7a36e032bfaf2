package tensor

import "testing"

// TestIm2colPanelsWithoutAssembly runs the panel test with the stride-2 assembly switched off, so
// that the Go loops other CPUs run are checked on whole panels too.
func TestIm2colPanelsWithoutAssembly(t *testing.T) {
	if !haveStride2Asm {
		t.Skip("no AVX2: the Go loops are what TestIm2colPanelsMatchIm2col checks")
	}
	defer func() { haveStride2Asm = true }()
	haveStride2Asm = false
	TestIm2colPanelsMatchIm2col(t)
}
