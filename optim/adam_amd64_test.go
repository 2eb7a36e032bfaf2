package optim

import (
	"fmt"
	"testing"
)

// TestAdamKernels runs the bit-for-bit checks with each kernel the CPU has and with none (the Go
// loop alone, as on other architectures), whichever one the CPU would pick.
func TestAdamKernels(t *testing.T) {
	have := adamLanes
	defer func() { adamLanes = have }()
	for _, l := range []int{0, 4, 8} {
		if l > have {
			t.Logf("no kernel with %d lanes on this CPU", l)
			continue
		}
		adamLanes = l
		t.Run(map[int]string{0: "go", 4: "avx2", 8: "avx512"}[l], func(t *testing.T) {
			t.Run("update", TestAdamUpdateMatchesReference)
			t.Run("step", TestAdamStepMatchesReference)
		})
	}
}

// BenchmarkAdamKernel times adamUpdate on one goroutine with each kernel, on 16K elements (256
// KiB of operands, in cache: the arithmetic) and 4M (64 MiB, from memory); throughput counts
// elements.
func BenchmarkAdamKernel(b *testing.B) {
	have := adamLanes
	defer func() { adamLanes = have }()
	k := adamCases[3].adamConsts()
	for _, n := range []int{1 << 14, 1 << 22} {
		w, grad, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for j := range n {
			w[j], grad[j], m[j], v[j] = 0.1, 1e-3, 1e-3, 1e-6
		}
		for _, l := range []int{0, 4, 8} {
			if l > have {
				continue
			}
			b.Run(fmt.Sprintf("%s/%d", map[int]string{0: "go", 4: "avx2", 8: "avx512"}[l], n), func(b *testing.B) {
				adamLanes = l
				b.SetBytes(int64(n))
				for b.Loop() {
					adamUpdate(w, grad, m, v, k)
				}
			})
		}
	}
}
