package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
)

func d64(x []float64, i, j, d int) float64 {
	var s float64
	for k := 0; k < d; k++ {
		t := x[i*d+k] - x[j*d+k]
		s += t * t
	}
	return math.Sqrt(s)
}

// tripletNaive mines on exact float64 distances and returns the triplets, so that the gradient
// reference can hold the selection fixed.
func tripletNaive(x []float64, labels []int, d int, mining Mining) [][3]int {
	n := len(labels)
	var ts [][3]int
	for a := 0; a < n; a++ {
		for p := 0; p < n; p++ {
			if p == a || labels[p] != labels[a] {
				continue
			}
			if mining == BatchHard { // only the farthest positive
				far := true
				for q := 0; q < n; q++ {
					if q != a && labels[q] == labels[a] && d64(x, a, q, d) > d64(x, a, p, d) {
						far = false
					}
				}
				if !far {
					continue
				}
			}
			best, bestOut := -1, -1
			for m := 0; m < n; m++ {
				if labels[m] == labels[a] {
					continue
				}
				dm := d64(x, a, m, d)
				switch mining {
				case BatchHard:
					if best < 0 || dm < d64(x, a, best, d) {
						best = m
					}
				case SemiHard:
					if dm > d64(x, a, p, d) && (best < 0 || dm < d64(x, a, best, d)) {
						best = m
					}
					if bestOut < 0 || dm > d64(x, a, bestOut, d) {
						bestOut = m
					}
				}
			}
			if best < 0 {
				best = bestOut
			}
			if best >= 0 {
				ts = append(ts, [3]int{a, p, best})
			}
		}
	}
	return ts
}

func tripletValue(x []float64, ts [][3]int, d int, margin float64) float64 {
	if len(ts) == 0 {
		return 0
	}
	var s float64
	for _, t := range ts {
		s += math.Max(0, d64(x, t[0], t[1], d)-d64(x, t[0], t[2], d)+margin)
	}
	return s / float64(len(ts))
}

func TestTripletMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		name   string
		labels []int
		d      int
		margin float64
		mining Mining
	}{
		{"batch-hard, 3 classes", []int{0, 1, 2, 0, 1, 2, 0, 1, 2}, 5, 0.5, BatchHard},
		{"batch-hard, a singleton class has no positive", []int{0, 0, 1, 1, 2}, 4, 1, BatchHard},
		{"semi-hard, 2 classes", []int{0, 1, 0, 1, 0, 1, 1}, 4, 0.3, SemiHard},
		{"semi-hard, large margin", []int{0, 0, 0, 1, 1, 2}, 3, 2, SemiHard},
		{"one class: no negative, loss 0", []int{3, 3, 3}, 3, 1, BatchHard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := randn(rng, 1, len(tc.labels), tc.d)
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				return Triplet(in[0], tc.labels, float32(tc.margin), tc.mining)
			}, x)
			ts := tripletNaive(f64(x.Data), tc.labels, tc.d, tc.mining)
			f := func(v []float64) float64 { return tripletValue(v, ts, tc.d, tc.margin) }
			testvec.CloseScalar(t, "loss", loss, f(f64(x.Data)), lossTol)
			closeSlices(t, "grad", g[0], numGrad(f, f64(x.Data)), x.Shape)
		})
	}
}

func TestContrastiveMarginMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, tc := range []struct {
		name   string
		same   []bool
		d      int
		margin float64
		scale2 float32
	}{
		{"mixed pairs", []bool{true, false, false, true, false}, 4, 2, 1},
		{"dissimilar pairs beyond the margin cost nothing", []bool{false, false, true}, 3, 0.5, 3},
		{"all similar", []bool{true, true}, 6, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.same)
			x1, x2 := randn(rng, 1, n, tc.d), randn(rng, tc.scale2, n, tc.d)
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				return ContrastiveMargin(in[0], in[1], tc.same, float32(tc.margin))
			}, x1, x2)
			f := func(a, b []float64) float64 {
				var s float64
				for i := 0; i < n; i++ {
					var q float64
					for j := 0; j < tc.d; j++ {
						q += (a[i*tc.d+j] - b[i*tc.d+j]) * (a[i*tc.d+j] - b[i*tc.d+j])
					}
					if tc.same[i] {
						s += q / 2
					} else if h := tc.margin - math.Sqrt(q); h > 0 {
						s += h * h / 2
					}
				}
				return s / float64(n)
			}
			a, b := f64(x1.Data), f64(x2.Data)
			testvec.CloseScalar(t, "loss", loss, f(a, b), lossTol)
			closeSlices(t, "grad_x1", g[0], numGrad(func(v []float64) float64 { return f(v, b) }, a), x1.Shape)
			closeSlices(t, "grad_x2", g[1], numGrad(func(v []float64) float64 { return f(a, v) }, b), x2.Shape)
		})
	}
}
