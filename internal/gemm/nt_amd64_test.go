package gemm

import "testing"

// TestMulNTGoLoop runs TestMulNTAgainstFloat64's checks on the Go loop that CPUs without
// AVX-512 take.
func TestMulNTGoLoop(t *testing.T) {
	defer func(h bool) { hasNT = h }(hasNT)
	hasNT = false
	checkMulNT(t)
}
