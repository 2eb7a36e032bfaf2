package im2col

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

var im2colCases = []struct {
	c, h, w, kh, kw, stride, pad int
}{
	{3, 5, 5, 3, 3, 1, 1},
	{2, 7, 6, 3, 3, 2, 1},
	{2, 6, 6, 3, 3, 2, 0},
	{1, 5, 7, 5, 3, 3, 2},
	{4, 3, 3, 1, 1, 1, 0},
	{2, 5, 5, 1, 1, 2, 0},
	{1, 2, 2, 4, 4, 1, 1},
	{2, 5, 25, 3, 3, 2, 1},  // Wo = 13: Im2colPanel copies runs
	{1, 4, 14, 3, 3, 1, 1},  // Wo = 14, stride 1
	{1, 3, 37, 3, 3, 3, 1},  // Wo = 13, stride 3
	{3, 6, 40, 3, 3, 2, 1},  // Wo = 20, stride 2: runs of 8 and an overlapping tail
	{2, 4, 8, 3, 3, 1, 1},   // Wo = 8, stride 1: one group of eight per run
	{2, 4, 9, 3, 3, 1, 1},   // Wo = 9, stride 1: a group and an overlapping tail
	{1, 3, 16, 3, 3, 1, 1},  // Wo = 16, stride 1: two groups
	{3, 20, 18, 7, 7, 2, 3}, // the ImageNet stem: transposed panels copy runs of 7
	{2, 9, 11, 5, 5, 1, 2},  // runs of 5
	{2, 3, 20, 3, 3, 1, 1},  // Wo = 20, stride 1: two groups and an overlapping tail
}

// TestIm2colDefinition checks Im2col element by element against its definition, with a row stride
// wider than one image, and Col2im as its adjoint: ⟨Im2col(x), y⟩ = ⟨x, Col2im(y)⟩.
func TestIm2colDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range im2colCases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			g := NewConvGeom("test", c.c, c.h, c.w, c.kh, c.kw, c.stride, c.pad)
			x := make([]float32, c.c*c.h*c.w)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			ld := g.Cols() + 3
			col := make([]float32, g.Rows()*ld)
			for i := range col {
				col[i] = 99 // must be overwritten (or left alone past Cols)
			}
			Im2col(g, x, col, ld)
			for r := 0; r < g.Rows(); r++ {
				ch, ky, kx := r/(c.kh*c.kw), r/c.kw%c.kh, r%c.kw
				for oy := 0; oy < g.Ho; oy++ {
					for ox := 0; ox < g.Wo; ox++ {
						iy, ix := oy*c.stride-c.pad+ky, ox*c.stride-c.pad+kx
						want := float32(0)
						if iy >= 0 && iy < c.h && ix >= 0 && ix < c.w {
							want = x[(ch*c.h+iy)*c.w+ix]
						}
						if got := col[r*ld+oy*g.Wo+ox]; got != want {
							t.Fatalf("col[row %d, %d,%d] = %v, want %v", r, oy, ox, got, want)
						}
					}
				}
				for j := g.Cols(); j < ld; j++ {
					if col[r*ld+j] != 99 {
						t.Fatalf("Im2col wrote past the image's columns in row %d", r)
					}
				}
			}
			y := make([]float32, len(col))
			for i := range y {
				y[i] = float32(rng.NormFloat64())
			}
			var lhs float64
			for r := 0; r < g.Rows(); r++ {
				for j := 0; j < g.Cols(); j++ {
					lhs += float64(col[r*ld+j]) * float64(y[r*ld+j])
				}
			}
			back := make([]float32, len(x))
			Col2im(g, y, ld, back)
			var rhs float64
			for i := range x {
				rhs += float64(x[i]) * float64(back[i])
			}
			if math.Abs(lhs-rhs) > 1e-4*math.Max(1, math.Abs(lhs)) {
				t.Errorf("Col2im is not Im2col's adjoint: %v vs %v", lhs, rhs)
			}
		})
	}
}

func TestNewConvGeomRejectsBadWindows(t *testing.T) {
	for _, c := range []struct{ h, k, stride, pad int }{{3, 4, 1, 0}, {3, 3, 0, 0}, {3, 3, 1, -1}, {2, 5, 1, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%+v: no panic", c)
				}
			}()
			NewConvGeom("test", 1, c.h, c.h, c.k, c.k, c.stride, c.pad)
		}()
	}
}

// BenchmarkIm2col times one image's column matrix and its adjoint at the reference model's shapes.
func BenchmarkIm2col(b *testing.B) {
	for _, c := range []struct {
		name                         string
		c, h, w, kh, kw, stride, pad int
	}{{"conv1", 1, 28, 28, 3, 3, 1, 1}, {"conv2", 32, 28, 28, 3, 3, 2, 1}, {"conv3", 64, 14, 14, 3, 3, 2, 1},
		{"s1c64w28", 64, 28, 28, 3, 3, 1, 1}, {"s1c256w7", 256, 7, 7, 3, 3, 1, 1}} {
		g := NewConvGeom("bench", c.c, c.h, c.w, c.kh, c.kw, c.stride, c.pad)
		x := make([]float32, c.c*c.h*c.w)
		col := make([]float32, g.Rows()*g.Cols())
		b.Run(c.name+"/im2col", func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			st := cpuTime()
			for i := 0; i < b.N; i++ {
				Im2col(g, x, col, g.Cols())
			}
			b.ReportMetric(float64(cpuTime()-st)/float64(b.N), "cpu-ns/op")
		})
		b.Run(c.name+"/col2im", func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			st := cpuTime()
			for i := 0; i < b.N; i++ {
				Col2im(g, col, g.Cols(), x)
			}
			b.ReportMetric(float64(cpuTime()-st)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the process's user+system CPU time: steadier than wall time on a loaded machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
