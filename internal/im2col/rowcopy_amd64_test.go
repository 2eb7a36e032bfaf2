package im2col

import "testing"

// TestIm2colPanelsWithoutAssembly runs the panel test with the row assembly (copyRowAsm,
// stride2RowAsm) switched off, so that the Go loops other CPUs run are checked on whole panels
// too.
func TestIm2colPanelsWithoutAssembly(t *testing.T) {
	if !haveRowAsm {
		t.Skip("no AVX2: the Go loops are what TestIm2colPanelsMatchIm2col checks")
	}
	defer func(e bool) { haveRowAsm, haveExpand = true, e }(haveExpand)
	haveRowAsm, haveExpand = false, false
	TestIm2colPanelsMatchIm2col(t)
}
