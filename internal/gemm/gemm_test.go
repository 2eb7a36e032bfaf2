package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMicroKernelsMatchFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kern := range kernels() {
		for _, k := range []int{1, 2, 3, 4, 5, 8, 17, 256} {
			for _, load := range []bool{true, false} {
				ldb := kern.nr + k%3 // a packed panel, or B read in place with a longer stride
				a := make([]float32, kern.mr*k)
				b := make([]float32, ldb*k)
				for i := range a {
					a[i] = rng.Float32()*2 - 1
				}
				for i := range b {
					b[i] = rng.Float32()*2 - 1
				}
				ldc := kern.nr + 3
				c := make([]float32, kern.mr*ldc)
				for i := range c {
					c[i] = float32(i % 7)
				}
				orig := append([]float32(nil), c...)
				kern.fn(k, &a[0], &b[0], ldb, &c[0], ldc, load)
				for i := 0; i < kern.mr; i++ {
					for j := 0; j < ldc; j++ {
						want := float64(orig[i*ldc+j])
						if j < kern.nr {
							if !load {
								want = 0
							}
							for p := 0; p < k; p++ {
								want += float64(a[p*kern.mr+i]) * float64(b[p*ldb+j])
							}
						}
						if d := math.Abs(float64(c[i*ldc+j]) - want); d > float64(k+8)*0x1p-23*(float64(k)+8) {
							t.Fatalf("%s k=%d ldb=%d load=%v: C[%d][%d] = %v, want %v", kern.name, k, ldb, load, i, j, c[i*ldc+j], want)
						}
					}
				}
			}
		}
	}
}

// TestKernelChoiceIgnoresTimingNoise checks that kernelFor picks the same micro-kernel when the
// in-cache ratings of comparable kernels trade places by a few percent (as they do from one
// process to the next on a busy machine), takes the small kernel where the large one would
// mostly compute padding, and still prefers a kernel that is much faster.
func TestKernelChoiceIgnoresTimingNoise(t *testing.T) {
	defer func(f func() []rated) { ratedKernels = f }(ratedKernels)
	big := &kernel{name: "big 8x48", mr: 8, nr: 48}
	small := &kernel{name: "small 6x16", mr: 6, nr: 16}
	rate := func(b, s float64) func() []rated {
		return func() []rated { return []rated{{big, b}, {small, s}} }
	}
	shapes := []struct {
		m, n int
		want *kernel
	}{
		{64, 784, big},  // conv2 forward
		{288, 784, big}, // conv2 input gradient: 6x16 would save 4% of the area
		{128, 576, big},
		{32, 9, small}, // conv1 weight gradient: n = 9 pads to 48
		{512, 64, small},
	}
	for _, r := range []struct{ b, s float64 }{{117, 112}, {112, 117}, {100, 110}} {
		ratedKernels = rate(r.b, r.s)
		for _, c := range shapes {
			if got := kernelFor(c.m, c.n, false); got != c.want {
				t.Errorf("ratings %v: kernelFor(%d, %d, false) = %s, want %s", r, c.m, c.n, got.name, c.want.name)
			}
		}
	}
	ratedKernels = rate(220, 110) // 512-bit FMA units: the big kernel twice as fast
	if got := kernelFor(512, 64, false); got != big {
		t.Errorf("a kernel twice as fast: kernelFor(512, 64, false) = %s, want %s", got.name, big.name)
	}
	// About twice as fast, by a ratio that varies from one process to the next (measured on a
	// busy Sapphire Rapids: 169–194 against 95–105 GFLOP/s): the same kernel for every shape.
	for _, sh := range []struct{ m, n int }{{8, 9}, {16, 9}, {32, 9}, {8, 72}, {64, 784}, {512, 64}} {
		ratedKernels = rate(185, 100)
		want := kernelFor(sh.m, sh.n, false)
		for _, r := range [][2]float64{{169, 105}, {194, 95}, {172, 102}, {190, 118}} {
			ratedKernels = rate(r[0], r[1])
			if got := kernelFor(sh.m, sh.n, false); got != want {
				t.Errorf("ratings %v: kernelFor(%d, %d, false) = %s, with 185/100 %s", r, sh.m, sh.n, got.name, want.name)
			}
		}
	}
}
