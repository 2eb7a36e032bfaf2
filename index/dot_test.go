package index

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotKernelsMatchTheGoLoops compares the assembly (whichever this CPU runs, and AVX2 too
// when AVX-512 is the default) with the Go loops over lengths around every block size, with
// float64 sums as the reference.
func TestDotKernelsMatchTheGoLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t.Logf("kernel %s", dotKernel())
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 129, 512, 2048, 2053} {
		a, b := make([]float32, n), make([]float32, n)
		c := make([]uint8, n)
		var want, wantU8 float64
		for i := range a {
			a[i], b[i], c[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()), uint8(rng.IntN(256))
			want += float64(a[i]) * float64(b[i])
			wantU8 += float64(a[i]) * float64(c[i])
		}
		tol := 1e-5 * math.Sqrt(float64(n+1)) * 4
		check := func(name string, got, want float64, scale float64) {
			if math.Abs(got-want) > tol*scale {
				t.Errorf("n=%d %s: %g, want %g", n, name, got, want)
			}
		}
		check("dot", float64(dot(a, b)), want, 1)
		check("dotGo", float64(dotGo(a, b)), want, 1)
		check("dotU8", float64(dotU8(a, c)), wantU8, 255)
		check("dotU8Go", float64(dotU8Go(a, c)), wantU8, 255)
		for _, k := range otherKernels() {
			check("dot "+k.name, float64(k.dot(a, b)), want, 1)
			check("dotU8 "+k.name, float64(k.dotU8(a, c)), wantU8, 255)
		}
	}
}

func BenchmarkDot128(b *testing.B) {
	x, y := make([]float32, 128), make([]float32, 128)
	for i := range x {
		x[i], y[i] = float32(i), float32(128-i)
	}
	b.Run(dotKernel(), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			dot(x, y)
		}
	})
	b.Run("go", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			dotGo(x, y)
		}
	})
}

// TestPrefetchAndHugePages: the hints change nothing they touch, on any length or alignment.
func TestPrefetchAndHugePages(t *testing.T) {
	v := make([]float32, 3<<20) // 12 MiB: whole 2 MiB pages inside
	adviseHuge(v)
	for i := range v {
		v[i] = float32(i)
	}
	for _, off := range []int{0, 1, 15, 1000} {
		for _, n := range []int{1, 3, 64, 65, 512, 4097} {
			prefetch(rowAddr(v[off:]), n)
		}
	}
	marks := make([]uint16, 1000)
	idx := []uint32{0, 999, 5, 500}
	prefetchU16s(rowAddr(marks), &idx[0], len(idx))
	for i, x := range v {
		if x != float32(i) {
			t.Fatalf("v[%d] = %g after the hints", i, x)
		}
	}
}
