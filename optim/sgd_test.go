package optim_test

import (
	"math"
	"testing"

	"github.com/contrastive-go/contrastive/optim"
)

// stepsCase applies two fixed gradients to w = [1, 2] and lists w after each step, worked out by
// hand from the formulas in the SGD doc comment.
func TestSGDHandComputedSteps(t *testing.T) {
	grads := [][]float32{{0.5, -1}, {0.25, 0.5}}
	cases := []struct {
		name string
		cfg  optim.SGDConfig
		want [][]float64
	}{
		// g = ∇ + 0.1w; w −= 0.1g.
		{"PlainWeightDecay", optim.SGDConfig{LR: 0.1, WeightDecay: 0.1},
			[][]float64{{0.94, 2.08}, {0.9056, 2.0092}}},
		// b₁ = g₁ = [0.6, −0.8]; b₂ = 0.9b₁ + g₂ = [0.884, −0.012].
		{"MomentumWeightDecay", optim.SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.1},
			[][]float64{{0.94, 2.08}, {0.8516, 2.0812}}},
		// b₁ = g₁; update g₁ + 0.9b₁ = [0.95, −1.9]; b₂ = [0.7, −0.4]; update g₂ + 0.9b₂ = [0.88, 0.14].
		{"Nesterov", optim.SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true},
			[][]float64{{0.905, 2.19}, {0.817, 2.176}}},
		// The first buffer is g₁ undamped; b₂ = 0.9b₁ + 0.5g₂ = [0.575, −0.65].
		{"Dampening", optim.SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.5},
			[][]float64{{0.95, 2.1}, {0.8925, 2.165}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := param("w", []float32{1, 2}, 2)
			opt := optim.NewSGD(p1(p), c.cfg)
			for s, g := range grads {
				copy(p.Grad.Data, g)
				opt.Step()
				for j, want := range c.want[s] {
					if got := float64(p.Value.Data[j]); math.Abs(got-want) > 1e-6 {
						t.Errorf("step %d: w[%d] = %.7g, want %.7g", s+1, j, got, want)
					}
				}
			}
		})
	}
}

func TestSGDRejectsBadConfig(t *testing.T) {
	for _, cfg := range []optim.SGDConfig{
		{LR: -1},
		{LR: 0.1, Momentum: -0.9},
		{LR: 0.1, Nesterov: true},
		{LR: 0.1, Momentum: 0.9, Dampening: 0.1, Nesterov: true},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("config %+v did not panic", cfg)
				}
			}()
			optim.NewSGD(p1(param("w", []float32{1}, 1)), cfg)
		}()
	}
}
