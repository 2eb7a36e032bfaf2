package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/contrastive-go/contrastive/internal/gemm"
)

// packBImpls runs Sgemm's contract through GemmPackB, op(B) supplied by a PackB that reads the
// problem's B (checking every call's arguments against the contract), on 1, 2 and 3 goroutines.
func packBImpls(t *testing.T) []impl {
	var out []impl
	for _, workers := range []int{1, 2, 3} {
		workers := workers
		out = append(out, impl{fmt.Sprintf("GemmPackB/%dw", workers), func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			var bad atomic.Pointer[string]
			gemm.GemmPackB(transA, m, n, k, alpha, a, lda, func(dst []float32, nr, p0, j0, kb, cols int) {
				if len(dst) != kb*nr || cols < 1 || cols > nr || kb < 1 || p0 < 0 || j0 < 0 || p0+kb > k || j0+cols > n {
					msg := fmt.Sprintf("packB(len %d, nr=%d, p0=%d, j0=%d, kb=%d, cols=%d) for k=%d n=%d", len(dst), nr, p0, j0, kb, cols, k, n)
					bad.Store(&msg)
					return
				}
				for i := range dst { // the panel's previous contents must not matter
					dst[i] = float32(math.NaN())
				}
				gemm.MatrixB(transB, b, ldb)(dst, nr, p0, j0, kb, cols)
			}, beta, c, ldc, workers)
			if msg := bad.Load(); msg != nil {
				t.Error(*msg)
			}
		}})
	}
	for _, workers := range []int{1, 2} {
		workers := workers
		out = append(out, impl{fmt.Sprintf("GemmPackedA/%dw", workers), func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			pa := gemm.NewPackedA(transA, m, k, alpha, a, lda, n)
			defer pa.Release()
			gemm.GemmPackedA(pa, n, gemm.MatrixB(transB, b, ldb), beta, c, ldc, workers)
			// The same packed A again, on the same C: a second product must not see the first.
			if beta == 0 {
				gemm.GemmPackedA(pa, n, gemm.MatrixB(transB, b, ldb), 0, c, ldc, workers)
			}
		}})
	}
	return out
}

// TestGemmPackBMatchesFloat64Reference checks GemmPackB on shapes with edge tiles in every
// direction and shapes that cross the cache blocks (kc, mc, nc), both op(A), several alpha and
// beta values and padded strides.
func TestGemmPackBMatchesFloat64Reference(t *testing.T) {
	type shape struct{ m, n, k int }
	shapes := []shape{
		{1, 1, 1}, {7, 13, 5}, {1000, 1, 3}, {1, 1000, 3}, {3, 5, 1000}, {65, 67, 129}, {5, 17, 0},
		{9, 49, 7}, {13, 95, 2}, {17, 33, 31}, {64, 288, 197}, {32, 9, 785},
		{200, 100, 300}, {150, 1030, 20}, {7, 3080, 9}, {33, 40, 520},
	}
	alphaBeta := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {0, 0.5}}
	rng := rand.New(rand.NewPCG(3, 4))
	impls := packBImpls(t)
	for si, sh := range shapes {
		for _, trans := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for abi, ab := range alphaBeta {
				pad := (si + abi) % 3 * 2
				p := newProblem(rng, trans[0], trans[1], sh.m, sh.n, sh.k, pad, ab[0], ab[1])
				want, scale := p.reference()
				for _, f := range impls {
					if err := p.verify(p.run(f), want, scale); err != nil {
						t.Errorf("%dx%dx%d/tA=%v,tB=%v/alpha=%g,beta=%g/pad=%d/%s: %v",
							sh.m, sh.n, sh.k, trans[0], trans[1], ab[0], ab[1], pad, f.name, err)
					}
				}
			}
		}
	}
}

func TestGemmPackBPanicsNamingShapes(t *testing.T) {
	pack := func(dst []float32, nr, p0, j0, kb, cols int) {}
	for _, c := range []struct {
		name string
		f    func()
		want string
	}{
		{"short A", func() { gemm.GemmPackB(false, 4, 4, 4, 1, make([]float32, 15), 4, pack, 0, make([]float32, 16), 4, 1) }, "A is 4x4"},
		{"short C", func() { gemm.GemmPackB(true, 4, 4, 3, 1, make([]float32, 12), 4, pack, 0, make([]float32, 15), 4, 1) }, "C is 4x4"},
		{"nil packB", func() { gemm.GemmPackB(false, 1, 1, 1, 1, make([]float32, 1), 1, nil, 0, make([]float32, 1), 1, 1) }, "nil packB"},
		{"negative", func() { gemm.GemmPackB(false, -1, 1, 1, 1, nil, 1, pack, 0, nil, 1, 1) }, "negative"},
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.Contains(s, c.want) {
					t.Errorf("%s: panic %v, want one containing %q", c.name, r, c.want)
				}
			}()
			c.f()
		}()
	}
}
