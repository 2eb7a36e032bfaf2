package loss

import (
	"math"
	"testing"
)

// expShift runs the vector kernel where the CPU has one (the length 4009 leaves a scalar tail).
func TestExpShiftMatchesExpf(t *testing.T) {
	v := make([]float32, 0, 4000)
	for x := float32(-100); x < 3; x += 0.0257 {
		v = append(v, x)
	}
	v = append(v, float32(math.NaN()))
	w := append([]float32(nil), v...)
	sum := expShift(w, 0.5, 1.5)
	var want float64
	for i, x := range v {
		e := expf((x - 0.5) * 1.5)
		if math.IsNaN(float64(e)) != math.IsNaN(float64(w[i])) || math.Abs(float64(w[i]-e)) > 3e-7*float64(e) {
			t.Fatalf("x=%v: %v, want %v", x, w[i], e)
		}
		if exact := math.Exp(float64((x - 0.5) * 1.5)); (x-0.5)*1.5 > -87 && math.Abs(float64(w[i])-exact) > 3e-7*exact {
			t.Fatalf("x=%v: %v, want %v", x, w[i], exact)
		}
		want += float64(e)
	}
	if !math.IsNaN(sum) || !math.IsNaN(want) {
		t.Errorf("sum %v with a NaN input, want NaN", sum)
	}
}

func TestExpShiftGoIsExpfInline(t *testing.T) {
	v := make([]float32, 0, 4000)
	for x := float32(-100); x < 3; x += 0.0257 {
		v = append(v, x)
	}
	w := append([]float32(nil), v...)
	expShiftGo(w, 0.5, 1.5)
	for i, x := range v {
		if e := expf((x - 0.5) * 1.5); w[i] != e {
			t.Fatalf("x=%v: %v, want %v", x, w[i], e)
		}
	}
}

// The reference vectors must hold on the portable path too.
func TestPortableExpPassesReferenceVectors(t *testing.T) {
	vectorExp = false
	defer func() { vectorExp = true }()
	t.Run("NTXent", TestNTXentMatchesReference)
	t.Run("InfoNCE", TestInfoNCEMatchesReference)
	t.Run("SupCon", TestSupConMatchesReference)
}

func TestSoftmaxRowSkipsAndNeverMakesNaN(t *testing.T) {
	for _, tc := range []struct {
		name    string
		row     []float32
		skip    int
		wantLSE float64
		wantOK  bool
	}{
		{"skip the only column", []float32{3}, 0, 0, false},
		{"huge logits", []float32{1, -1, 1}, 1, 1e4 + math.Log(2), true},
		{"no skip", []float32{0, 0}, -1, math.Log(2), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lse, ok := softmaxRow(tc.row, tc.skip, 1e4)
			if ok != tc.wantOK || math.Abs(lse-tc.wantLSE) > 1e-9*math.Max(1, math.Abs(tc.wantLSE)) {
				t.Errorf("lse %v ok %v, want %v %v", lse, ok, tc.wantLSE, tc.wantOK)
			}
			var s float64
			for j, p := range tc.row {
				if math.IsNaN(float64(p)) || (j == tc.skip && p != 0) {
					t.Errorf("row %v", tc.row)
				}
				s += float64(p)
			}
			if ok && math.Abs(s-1) > 1e-6 {
				t.Errorf("probabilities sum to %v", s)
			}
		})
	}
}

func BenchmarkExpShift(b *testing.B) {
	v := make([]float32, 1024)
	for i := 0; i < b.N; i++ {
		for j := range v {
			v[j] = float32(j%37) * -0.01
		}
		expShift(v, 0.5, 2)
	}
}

func TestSymmetrizeAddsTheTranspose(t *testing.T) {
	for _, tc := range []struct{ m, ld int }{{1, 1}, {5, 7}, {64, 64}, {150, 170}, {200, 200}} {
		g := make([]float32, tc.m*tc.ld)
		for i := range g {
			g[i] = float32(i%97) - 40
		}
		orig := append([]float32(nil), g...)
		symmetrize(g, tc.m, tc.ld)
		for a := 0; a < tc.m; a++ {
			for b := 0; b < tc.ld; b++ {
				want := orig[a*tc.ld+b]
				if b < tc.m {
					want += orig[b*tc.ld+a]
				}
				if g[a*tc.ld+b] != want {
					t.Fatalf("m=%d ld=%d: g[%d,%d] = %v, want %v", tc.m, tc.ld, a, b, g[a*tc.ld+b], want)
				}
			}
		}
	}
}
