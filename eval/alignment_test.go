package eval

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func feats(d int, rows ...float32) Features {
	return Features{N: len(rows) / d, D: d, Data: rows}
}

// TestAlignmentKnownConfigurations: identical pairs align perfectly, antipodal pairs are 2^α
// apart, orthogonal pairs √2, and the scale of a feature vector does not matter.
func TestAlignmentKnownConfigurations(t *testing.T) {
	cases := []struct {
		name  string
		x, y  Features
		alpha float64
		want  float64
	}{
		{"identical pairs", feats(3, 1, 2, 3, -1, 0, 4), feats(3, 1, 2, 3, -1, 0, 4), 2, 0},
		{"identical directions, other lengths", feats(2, 1, 1, 0, 3), feats(2, 5, 5, 0, 0.1), 2, 0},
		{"antipodal, alpha 2", feats(2, 1, 0), feats(2, -1, 0), 2, 4},
		{"antipodal, alpha 1", feats(2, 1, 0), feats(2, -7, 0), 1, 2},
		{"orthogonal, default alpha", feats(2, 1, 0), feats(2, 0, 2), 0, 2},
		{"mean over pairs", feats(2, 1, 0, 1, 0), feats(2, 1, 0, -1, 0), 2, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Alignment(tc.x, tc.y, tc.alpha)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("alignment %v, want %v", got, tc.want)
			}
		})
	}
}

// naiveUniformity is the definition, pair by pair in float64.
func naiveUniformity(x Features, t float64) float64 {
	xn := x.Normalized()
	var s float64
	var pairs int
	for i := 0; i < xn.N; i++ {
		for j := i + 1; j < xn.N; j++ {
			var d2 float64
			for k := 0; k < xn.D; k++ {
				d := float64(xn.Row(i)[k]) - float64(xn.Row(j)[k])
				d2 += d * d
			}
			s += math.Exp(-t * d2)
			pairs++
		}
	}
	return math.Log(s / float64(pairs))
}

// TestUniformityKnownConfigurations: closed forms for small point sets, and no underflow for a
// large t.
func TestUniformityKnownConfigurations(t *testing.T) {
	square := feats(2, 1, 0, 0, 1, -1, 0, 0, -1) // 4 adjacent pairs at d² = 2, 2 opposite at d² = 4
	cases := []struct {
		name string
		x    Features
		t    float64
		want float64
	}{
		{"two antipodal points", feats(2, 1, 0, -3, 0), 2, -8},
		{"two identical points", feats(3, 1, 2, 2, 2, 4, 4), 2, 0},
		{"square on the circle", square, 2, math.Log((4*math.Exp(-4) + 2*math.Exp(-8)) / 6)},
		{"square, default t", square, 0, math.Log((4*math.Exp(-4) + 2*math.Exp(-8)) / 6)},
		{"antipodal, t = 1000 (exp underflows)", feats(2, 0, 1, 0, -1), 1000, -4000},
		{"square, t = 500", square, 500, -1000 + math.Log(4.0/6)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Uniformity(tc.x, UniformityOptions{T: tc.t})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-6*math.Max(1, math.Abs(tc.want)) {
				t.Errorf("uniformity %v, want %v", got, tc.want)
			}
		})
	}
}

// TestUniformityAgreesWithNaiveLoop on random data, across Gram block boundaries.
func TestUniformityAgreesWithNaiveLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{2, 3, 50, 700} {
		x := randomFeatures(r, n, 8)
		got, err := Uniformity(x, UniformityOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveUniformity(x, 2); math.Abs(got-want) > 1e-5 {
			t.Errorf("n = %d: uniformity %v, naive %v", n, got, want)
		}
	}
}

// TestUniformitySubsample: a seeded subsample is reproducible, close to the full value on
// isotropic data, and a subsample as large as the data is the data.
func TestUniformitySubsample(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	x := randomFeatures(r, 1500, 4)
	full, _ := Uniformity(x, UniformityOptions{})
	all, _ := Uniformity(x, UniformityOptions{MaxSamples: 1500, Seed: 3})
	a, _ := Uniformity(x, UniformityOptions{MaxSamples: 400, Seed: 3})
	b, _ := Uniformity(x, UniformityOptions{MaxSamples: 400, Seed: 3})
	c, _ := Uniformity(x, UniformityOptions{MaxSamples: 400, Seed: 4})
	if all != full {
		t.Errorf("MaxSamples = n gave %v, full %v", all, full)
	}
	if a != b {
		t.Errorf("same seed gave %v and %v", a, b)
	}
	if a == c {
		t.Errorf("seeds 3 and 4 drew the same subsample (%v)", a)
	}
	if math.Abs(a-full) > 0.05 {
		t.Errorf("subsample estimate %v, full %v", a, full)
	}
}

// TestAlignmentUniformityRejectBadInput: user-input mistakes are errors.
func TestAlignmentUniformityRejectBadInput(t *testing.T) {
	two := feats(2, 1, 0, 0, 1)
	cases := []struct {
		name       string
		err        func() error
		wantSubstr string
	}{
		{"alignment shapes differ", func() error { _, err := Alignment(two, feats(2, 1, 0), 2); return err }, "equal shapes"},
		{"alignment no pairs", func() error { _, err := Alignment(feats(2), feats(2), 2); return err }, "no pairs"},
		{"alignment negative alpha", func() error { _, err := Alignment(two, two, -1); return err }, "alpha"},
		{"uniformity one row", func() error { _, err := Uniformity(feats(2, 1, 0), UniformityOptions{}); return err }, "two rows"},
		{"uniformity subsample of one", func() error { _, err := Uniformity(two, UniformityOptions{MaxSamples: 1}); return err }, "two rows"},
		{"uniformity negative t", func() error { _, err := Uniformity(two, UniformityOptions{T: -2}); return err }, "t = -2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); err == nil || !strings.Contains(err.Error(), tc.wantSubstr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantSubstr)
			}
		})
	}
}
