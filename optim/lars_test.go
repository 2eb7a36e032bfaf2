package optim_test

import (
	"math"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/optim"
)

func TestLARSTrustRatioOnAConstructedCase(t *testing.T) {
	// w = [3, 4] (‖w‖ = 5), ∇ = [0.3, 0.4], λ = 0.1: g = ∇ + λw = [0.6, 0.8], ‖g‖ = 1,
	// trust = η·5/1 = 0.005; v = η_base·trust·g = 2·0.005·g = [0.006, 0.008]; w = [2.994, 3.992].
	w := param("fc.weight", []float32{3, 4}, 1, 2)
	opt := optim.NewLARS(p1(w), optim.LARSConfig{LR: 2, Momentum: 0.9, WeightDecay: 0.1, Eta: 0.001})
	copy(w.Grad.Data, []float32{0.3, 0.4})
	if r := opt.TrustRatio(w); math.Abs(r-0.005) > 1e-9 {
		t.Fatalf("trust ratio %v, want 0.005", r)
	}
	opt.Step()
	want1 := []float64{2.994, 3.992}
	for j, want := range want1 {
		if got := float64(w.Value.Data[j]); math.Abs(got-want) > 1e-6 {
			t.Fatalf("step 1: w[%d] = %.7g, want %.7g", j, got, want)
		}
	}
	// Step 2 from the formulas, with the same ∇: momentum carries 0.9·v₁.
	g := []float64{0.3 + 0.1*2.994, 0.4 + 0.1*3.992}
	trust := 0.001 * math.Hypot(2.994, 3.992) / math.Hypot(g[0], g[1])
	v1 := []float64{0.006, 0.008}
	opt.Step()
	for j := range g {
		want := want1[j] - (0.9*v1[j] + 2*trust*g[j])
		if got := float64(w.Value.Data[j]); math.Abs(got-want) > 1e-6 {
			t.Errorf("step 2: w[%d] = %.7g, want %.7g", j, got, want)
		}
	}
}

func TestLARSExclusion(t *testing.T) {
	// Excluded parameters take plain momentum steps: no decay, no trust ratio. From b = [1, 2]
	// with ∇ = [0.5, 0.5], η_base = 0.1: v = 0.05, b = [0.95, 1.95]. Adapted, the same parameter
	// moves by η_base·η·‖b‖/‖∇ + λb‖ · (∇ + λb).
	adapted := func(b, grad []float64, lr, eta, wd float64) []float64 {
		g := []float64{grad[0] + wd*b[0], grad[1] + wd*b[1]}
		trust := eta * math.Hypot(b[0], b[1]) / math.Hypot(g[0], g[1])
		return []float64{b[0] - lr*trust*g[0], b[1] - lr*trust*g[1]}
	}
	byName := func(p *autodiff.Var) bool { return strings.HasSuffix(p.Name, "bias") }
	cases := []struct {
		name    string
		pname   string
		shape   []int
		exclude func(*autodiff.Var) bool
		want    []float64
	}{
		{"OneDimExcludedByDefault", "bn.weight", []int{2}, nil, []float64{0.95, 1.95}},
		{"TwoDimAdaptedByDefault", "fc.weight", []int{1, 2}, nil, adapted([]float64{1, 2}, []float64{0.5, 0.5}, 0.1, 0.001, 0.1)},
		{"CustomPredicateAdaptsOneDim", "bn.weight", []int{2}, byName, adapted([]float64{1, 2}, []float64{0.5, 0.5}, 0.1, 0.001, 0.1)},
		{"CustomPredicateExcludesByName", "fc.bias", []int{1, 2}, byName, []float64{0.95, 1.95}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := param(c.pname, []float32{1, 2}, c.shape...)
			opt := optim.NewLARS(p1(p), optim.LARSConfig{LR: 0.1, WeightDecay: 0.1, Exclude: c.exclude})
			copy(p.Grad.Data, []float32{0.5, 0.5})
			opt.Step()
			for j, want := range c.want {
				if got := float64(p.Value.Data[j]); math.Abs(got-want) > 1e-6 {
					t.Errorf("w[%d] = %.7g, want %.7g", j, got, want)
				}
			}
		})
	}
}

func TestLARSZeroNormsUseTrustOne(t *testing.T) {
	w := param("fc.weight", []float32{0, 0}, 1, 2)
	opt := optim.NewLARS(p1(w), optim.LARSConfig{LR: 0.1})
	copy(w.Grad.Data, []float32{1, -1})
	if r := opt.TrustRatio(w); r != 1 {
		t.Errorf("trust ratio with ‖w‖ = 0: %v, want 1", r)
	}
	opt.Step()
	if w.Value.Data[0] != -0.1 || w.Value.Data[1] != 0.1 {
		t.Errorf("w = %v, want [-0.1 0.1]", w.Value.Data)
	}
}
