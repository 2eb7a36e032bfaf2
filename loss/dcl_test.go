package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

type dclCase struct {
	Name  string
	N, D  int
	Tau   float64
	Sigma float64
	Z     testvec.Tensor
	Loss  float64
	GradZ testvec.Tensor `json:"grad_z"`
}

func TestDCLMatchesReference(t *testing.T) {
	var file struct {
		DCL  struct{ Cases []dclCase } `json:"dcl"`
		DCLW struct{ Cases []dclCase } `json:"dclw"`
	}
	testvec.Load(t, "testdata/dcl.json", &file)
	if len(file.DCL.Cases) == 0 || len(file.DCLW.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, sec := range []struct {
		name  string
		cases []dclCase
		f     func(z *autodiff.Var, c dclCase) *autodiff.Var
	}{
		{"DCL", file.DCL.Cases, func(z *autodiff.Var, c dclCase) *autodiff.Var { return DCL(z, float32(c.Tau)) }},
		{"DCLW", file.DCLW.Cases, func(z *autodiff.Var, c dclCase) *autodiff.Var { return DCLW(z, float32(c.Tau), float32(c.Sigma)) }},
	} {
		for _, c := range sec.cases {
			t.Run(sec.name+"/"+c.Name, func(t *testing.T) {
				loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return sec.f(in[0], c) }, tensorOf(c.Z))
				testvec.CloseScalar(t, "loss", loss, c.Loss, lossTol)
				testvec.Close(t, "grad_z", g[0], c.GradZ, gradTol)
			})
		}
	}
}

// dclNaive is DCL(W) in float64, one element at a time; w holds fixed positive weights (nil: 1).
func dclNaive(z []float64, m, d int, tau float64, w []float64) float64 {
	u := normRows64(z, m, d)
	n := m / 2
	var total float64
	for a := 0; a < m; a++ {
		p := (a + n) % m
		var den float64
		for b := 0; b < m; b++ {
			if b != a && b != p {
				den += math.Exp(dotRows(u, a, u, b, d) / tau)
			}
		}
		wa := 1.0
		if w != nil {
			wa = w[a%n]
		}
		total += -wa*dotRows(u, a, u, p, d)/tau + math.Log(den)
	}
	return total / float64(m)
}

// dclwWeights are DCLW's w_i = 2 − N·softmax_i(c/σ) in float64.
func dclwWeights(z []float64, m, d int, sigma float64) []float64 {
	u := normRows64(z, m, d)
	n := m / 2
	e := make([]float64, n)
	var sum float64
	for i := range n {
		e[i] = math.Exp(dotRows(u, i, u, i+n, d) / sigma)
		sum += e[i]
	}
	for i := range e {
		e[i] = 2 - float64(n)*e[i]/sum
	}
	return e
}

// The loss against a float64 loop and its gradient against central differences of that loop
// (DCLW's weights held at their values, as the loss treats them as constants).
func TestDCLMatchesNaiveAndFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 1))
	for _, tc := range []struct {
		name       string
		m, d       int
		tau, sigma float64
	}{
		{"DCL batch 4", 8, 5, 0.1, 0},
		{"DCL batch 2", 4, 3, 0.5, 0},
		{"DCLW batch 6", 12, 4, 0.2, 0.5},
		{"DCLW sharp weights", 8, 6, 0.3, 0.05},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := randn(rng, 1, tc.m, tc.d)
			z64 := f64(z.Data)
			var w []float64
			f := func(in []*autodiff.Var) *autodiff.Var { return DCL(in[0], float32(tc.tau)) }
			if tc.sigma > 0 {
				w = dclwWeights(z64, tc.m, tc.d, tc.sigma)
				f = func(in []*autodiff.Var) *autodiff.Var { return DCLW(in[0], float32(tc.tau), float32(tc.sigma)) }
			}
			loss, g := evalGrad(t, f, z)
			naive := func(x []float64) float64 { return dclNaive(x, tc.m, tc.d, tc.tau, w) }
			testvec.CloseScalar(t, "loss", loss, naive(z64), lossTol)
			closeSlices(t, "grad_z", g[0], numGrad(naive, z64), z.Shape)
		})
	}
}

// DCL's denominator lacks the positive: it must differ from NT-Xent by exactly that term,
// l_a^NTXent = log(exp(s_ap/τ) + Σ_neg) − s_ap/τ, which is always more than l_a^DCL.
func TestDCLIsNTXentWithoutThePositiveInTheDenominator(t *testing.T) {
	tp := autodiff.NewTape()
	z := tp.Variable(randn(rand.New(rand.NewPCG(3, 9)), 1, 10, 6))
	d, nt := float64(DCL(z, 0.3).Item()), float64(NTXent(z, 0.3).Item())
	if !(d < nt) {
		t.Errorf("DCL %v is not below NT-Xent %v", d, nt)
	}
	// With the weights all 1 (σ → ∞ flattens the softmax), DCLW is DCL.
	if a, b := DCLW(z, 0.3, 1e30).Item(), DCL(z, 0.3).Item(); math.Abs(float64(a-b)) > 1e-6 {
		t.Errorf("DCLW with flat weights %v, DCL %v", a, b)
	}
}

func TestDCLPanicsOnMisuse(t *testing.T) {
	for _, tc := range []struct {
		name       string
		z          *tensor.Tensor
		tau, sigma float32
	}{
		{"odd rows", tensor.New(5, 4), 0.5, 0.5},
		{"one sample has no negative", tensor.New(2, 4), 0.5, 0.5},
		{"zero tau", tensor.New(4, 4), 0, 0.5},
		{"zero sigma", tensor.New(4, 4), 0.5, 0},
		{"1-D input", tensor.New(8), 0.5, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tp := autodiff.NewTape()
			DCLW(tp.Variable(tc.z), tc.tau, tc.sigma)
		})
	}
}
