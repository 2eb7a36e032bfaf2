package index

import (
	"math"
	"math/rand/v2"
	"testing"
)

type kernel struct {
	name  string
	dot   func(a, b []float32) float32
	dotU8 func(q []float32, c []uint8) float32
}

// otherKernels are the assembly kernels besides the default one that this CPU can run.
func otherKernels() []kernel {
	var ks []kernel
	if useAVX2 {
		ks = append(ks, kernel{"avx2",
			func(a, b []float32) float32 {
				n := len(a) &^ 7
				s := float32(0)
				if n > 0 {
					s = dot256(&a[0], &b[0], n)
				}
				return s + dotGo(a[n:], b[n:])
			},
			func(q []float32, c []uint8) float32 {
				n := len(q) &^ 7
				s := float32(0)
				if n > 0 {
					s = dotU8256(&q[0], &c[0], n)
				}
				return s + dotU8Go(q[n:], c[n:])
			}})
	}
	return ks
}

// TestDotRowsMatchDot: the row-batch kernels (the default one and AVX2) give each row's dot.
func TestDotRowsMatchDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, d := range []int{1, 8, 16, 24, 48, 64, 80, 128, 136, 512} {
		const rows = 50
		q, base := make([]float32, d), make([]float32, rows*d)
		codes := make([]uint8, rows*d)
		for i := range q {
			q[i] = float32(rng.NormFloat64())
		}
		for i := range base {
			base[i], codes[i] = float32(rng.NormFloat64()), uint8(rng.IntN(256))
		}
		ids := []uint32{0, 49, 7, 7, 23, 1}
		out, outU8 := make([]float32, len(ids)), make([]float32, len(ids))
		dotRows(q, base, ids, out)
		dotU8Rows(q, codes, ids, outU8)
		var out2, outU82 []float32
		if useAVX2 && d%8 == 0 {
			out2, outU82 = make([]float32, len(ids)), make([]float32, len(ids))
			dotRows256(&q[0], &base[0], 4*d, &ids[0], len(ids), d, &out2[0])
			dotU8Rows256(&q[0], &codes[0], d, &ids[0], len(ids), d, &outU82[0])
		}
		for j, id := range ids {
			r := int(id) * d
			want, wantU8 := dot(q, base[r:r+d]), dotU8(q, codes[r:r+d])
			tol := 1e-4 * float64(d)
			if math.Abs(float64(out[j]-want)) > tol || math.Abs(float64(outU8[j]-wantU8)) > 100*tol {
				t.Fatalf("d %d row %d: dotRows %g, dotU8Rows %g; want %g, %g", d, id, out[j], outU8[j], want, wantU8)
			}
			if out2 != nil && (math.Abs(float64(out2[j]-want)) > tol || math.Abs(float64(outU82[j]-wantU8)) > 100*tol) {
				t.Fatalf("d %d row %d: avx2 dotRows %g, dotU8Rows %g; want %g, %g", d, id, out2[j], outU82[j], want, wantU8)
			}
		}
	}
}
