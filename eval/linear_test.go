package eval

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// gaussianClusters draws n points around the given centres (a uniformly chosen centre plus
// Gaussian noise of standard deviation noise); labels are the centre indices.
func gaussianClusters(r *rand.Rand, centres [][]float64, n int, noise float64) (Features, []int) {
	c, d := len(centres), len(centres[0])
	f := Features{N: n, D: d, Data: make([]float32, n*d)}
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		y := r.IntN(c)
		labels[i] = y
		for j := 0; j < d; j++ {
			f.Data[i*d+j] = float32(centres[y][j] + noise*r.NormFloat64())
		}
	}
	return f, labels
}

func randomCentres(r *rand.Rand, c, d int, scale float64) [][]float64 {
	out := make([][]float64, c)
	for i := range out {
		out[i] = make([]float64, d)
		for j := range out[i] {
			out[i][j] = scale * r.NormFloat64()
		}
	}
	return out
}

// TestSoftmaxCrossEntropyGradient: the hand-written ∂L/∂W and ∂L/∂b match central finite
// differences of the loss.
func TestSoftmaxCrossEntropyGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cases := []struct {
		name    string
		n, d, c int
		scale   float64
	}{
		{"small", 4, 3, 2, 1},
		{"more classes than features", 7, 2, 5, 1},
		{"large logits", 5, 4, 3, 8},
		{"single row", 1, 6, 4, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rnd := func(n int, s float64) []float32 {
				v := make([]float32, n)
				for i := range v {
					v[i] = float32(s * r.NormFloat64())
				}
				return v
			}
			x, w, b := rnd(tc.n*tc.d, tc.scale), rnd(tc.d*tc.c, 1), rnd(tc.c, 1)
			labels := make([]int, tc.n)
			for i := range labels {
				labels[i] = r.IntN(tc.c)
			}
			z := make([]float32, tc.n*tc.c)
			gw, gb := make([]float32, tc.d*tc.c), make([]float32, tc.c)
			softmaxCrossEntropy(x, tc.n, tc.d, labels, w, b, tc.c, z, gw, gb)
			loss := func() float64 { return softmaxCrossEntropy(x, tc.n, tc.d, labels, w, b, tc.c, z, nil, nil) }
			check := func(name string, p, g []float32) {
				const h = 1e-2
				for i := range p {
					orig := p[i]
					p[i] = orig + h
					lp := loss()
					p[i] = orig - h
					lm := loss()
					p[i] = orig
					num := (lp - lm) / (2 * h)
					if math.Abs(num-float64(g[i])) > 2e-3*math.Max(1, math.Abs(num)) {
						t.Errorf("%s[%d]: analytic %v, numeric %v", name, i, g[i], num)
					}
				}
			}
			check("dW", w, gw)
			check("db", b, gb)
		})
	}
}

// TestSoftmaxCrossEntropyValue: the loss is log C for all-zero weights and falls as the right
// logit grows.
func TestSoftmaxCrossEntropyValue(t *testing.T) {
	x := []float32{1, 2, 3, -1}
	z := make([]float32, 2*3)
	got := softmaxCrossEntropy(x, 2, 2, []int{0, 2}, make([]float32, 6), make([]float32, 3), 3, z, nil, nil)
	if math.Abs(got-math.Log(3)) > 1e-6 {
		t.Errorf("zero weights: loss %v, want log 3 = %v", got, math.Log(3))
	}
	// One row, bias favouring the label by 10: loss = log(1 + 2e^-10).
	got = softmaxCrossEntropy([]float32{0}, 1, 1, []int{1}, make([]float32, 3), []float32{0, 10, 0}, 3, z[:3], nil, nil)
	if want := math.Log1p(2 * math.Exp(-10)); math.Abs(got-want) > 1e-7 {
		t.Errorf("confident logits: loss %v, want %v", got, want)
	}
}

// TestLinearProbeAccuracy: separable clusters are learned (≈100% on both splits); random labels
// are not (test accuracy near chance, 1/C).
func TestLinearProbeAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const c, d = 5, 20
	centres := randomCentres(r, c, d, 3)
	train, trainY := gaussianClusters(r, centres, 2000, 1)
	test, testY := gaussianClusters(r, centres, 1000, 1)
	randY := func(n int) []int {
		y := make([]int, n)
		for i := range y {
			y[i] = r.IntN(c)
		}
		return y
	}
	noise := randomCentres(r, 2000, d, 1)
	noiseF := Features{N: 2000, D: d, Data: make([]float32, 2000*d)}
	for i := range noise {
		for j := range noise[i] {
			noiseF.Data[i*d+j] = float32(noise[i][j])
		}
	}
	cases := []struct {
		name             string
		train            Features
		trainY           []int
		test             Features
		testY            []int
		minTest, maxTest float64
	}{
		{"separable clusters", train, trainY, test, testY, 0.99, 1},
		{"random labels", noiseF.Subset(seq(1500)), randY(1500), noiseF.Subset(seqFrom(1500, 2000)), randY(500), 0.1, 0.3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := LinearProbe(tc.train, tc.trainY, tc.test, tc.testY, LinearOptions{Epochs: 30, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if res.TestTop1 < tc.minTest || res.TestTop1 > tc.maxTest {
				t.Errorf("test top-1 %.3f outside [%v, %v] (train %.3f)", res.TestTop1, tc.minTest, tc.maxTest, res.TrainTop1)
			}
			if l := res.EpochLoss; len(l) != 30 || !(l[29] < l[0]) {
				t.Errorf("epoch losses %v: want 30 values, falling", l)
			}
		})
	}
}

func seqFrom(lo, hi int) []int {
	s := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		s = append(s, i)
	}
	return s
}

// TestLinearProbeStandardisesWithTrainingStatistics: Mean and Std are the training split's
// (population std, floored), and scaling or shifting a feature changes nothing.
func TestLinearProbeStandardisesWithTrainingStatistics(t *testing.T) {
	train := Features{N: 4, D: 3, Data: []float32{
		1, 10, 5,
		3, 10, 5,
		1, 30, 5,
		3, 30, 5,
	}}
	y := []int{0, 1, 0, 1}
	res, err := LinearProbe(train, y, Features{D: 3}, nil, LinearOptions{Epochs: 2})
	if err != nil {
		t.Fatal(err)
	}
	wantMean, wantStd := []float32{2, 20, 5}, []float32{1, 10, 1e-6}
	for j := range wantMean {
		if math.Abs(float64(res.Mean[j]-wantMean[j])) > 1e-6 || math.Abs(float64(res.Std[j]-wantStd[j])) > 1e-6*float64(wantStd[j]) {
			t.Errorf("feature %d: mean %v std %v, want %v %v", j, res.Mean[j], res.Std[j], wantMean[j], wantStd[j])
		}
	}
	if !math.IsNaN(res.TestTop1) {
		t.Errorf("empty test split: TestTop1 %v, want NaN", res.TestTop1)
	}

	r := rand.New(rand.NewPCG(9, 10))
	centres := randomCentres(r, 3, 6, 1)
	a, ay := gaussianClusters(r, centres, 600, 1)
	b, by := gaussianClusters(r, centres, 300, 1)
	affine := func(f Features) Features {
		g := f.Subset(seq(f.N))
		for i := 0; i < g.N; i++ {
			g.Data[i*g.D] = 1000*g.Data[i*g.D] + 5e3
		}
		return g
	}
	r1, err := LinearProbe(a, ay, b, by, LinearOptions{Epochs: 5})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := LinearProbe(affine(a), ay, affine(b), by, LinearOptions{Epochs: 5})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r1.TestTop1-r2.TestTop1) > 0.01 {
		t.Errorf("test top-1 %v before and %v after rescaling a feature: standardisation should remove the scale", r1.TestTop1, r2.TestTop1)
	}
}

// TestLinearProbeIsSeeded: the same seed gives the same weights; another seed another order.
func TestLinearProbeIsSeeded(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	f, y := gaussianClusters(r, randomCentres(r, 3, 4, 1), 700, 1)
	run := func(seed uint64) []float32 {
		res, err := LinearProbe(f, y, Features{D: 4}, nil, LinearOptions{Epochs: 3, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return res.W
	}
	a, b, c := run(1), run(1), run(2)
	same, differ := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differ = differ || a[i] != c[i]
	}
	if !same {
		t.Error("same seed gave different weights")
	}
	if !differ {
		t.Error("different seeds gave identical weights: shuffling is not seeded")
	}
}

// TestLinearProbeRejectsBadInput: user-input mistakes are errors.
func TestLinearProbeRejectsBadInput(t *testing.T) {
	f := Features{N: 2, D: 2, Data: []float32{1, 2, 3, 4}}
	g := Features{N: 1, D: 3, Data: []float32{1, 2, 3}}
	cases := []struct {
		name       string
		train      Features
		trainY     []int
		test       Features
		testY      []int
		opt        LinearOptions
		wantSubstr string
	}{
		{"train label count", f, []int{0}, f, nil, LinearOptions{}, "1 labels for 2"},
		{"test label count", f, []int{0, 1}, f, []int{0, 1, 1}, LinearOptions{}, "3 labels for 2"},
		{"feature sizes differ", f, []int{0, 1}, g, nil, LinearOptions{}, "feature sizes differ"},
		{"empty train", Features{D: 2}, []int{}, f, nil, LinearOptions{}, "empty training"},
		{"negative lr", f, []int{0, 1}, f, nil, LinearOptions{LR: -1}, "lr"},
		{"beta of one", f, []int{0, 1}, f, nil, LinearOptions{Beta2: 1}, "betas"},
		{"label beyond classes", f, []int{0, 3}, f, nil, LinearOptions{Classes: 2}, "outside [0, 2)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LinearProbe(tc.train, tc.trainY, tc.test, tc.testY, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.wantSubstr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantSubstr)
			}
		})
	}
}
