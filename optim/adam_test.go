package optim_test

import (
	"math"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/optim"
)

func p1(p *autodiff.Var) []*autodiff.Var { return []*autodiff.Var{p} }

type adamVectors struct {
	Adam struct {
		Cases []struct {
			Name             string
			LR, Beta1, Beta2 float64
			Eps              float64
			ParamInit        testvec.Tensor `json:"param_init"`
			Steps            []struct {
				T           int
				Grad, Param testvec.Tensor
				ExpAvg      testvec.Tensor `json:"exp_avg"`
				ExpAvgSq    testvec.Tensor `json:"exp_avg_sq"`
			}
		} `json:"cases"`
	} `json:"adam"`
}

func TestAdamMatchesPyTorch(t *testing.T) {
	var v adamVectors
	testvec.Load(t, "testdata/ops.json", &v)
	if len(v.Adam.Cases) == 0 {
		t.Fatal("no adam cases in testdata/ops.json")
	}
	for _, c := range v.Adam.Cases {
		t.Run(c.Name, func(t *testing.T) {
			p := param("encoder.0.weight", c.ParamInit.F32(), c.ParamInit.Shape...)
			opt := optim.NewAdam(p1(p), optim.AdamConfig{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps})
			for _, s := range c.Steps {
				copy(p.Grad.Data, s.Grad.F32())
				opt.Step()
				st := opt.State()
				testvec.Close(t, "exp_avg", st["encoder.0.weight.exp_avg"].Data, s.ExpAvg, 1e-4)
				testvec.Close(t, "exp_avg_sq", st["encoder.0.weight.exp_avg_sq"].Data, s.ExpAvgSq, 1e-4)
				// Each step moves a parameter by about lr; hold the move to 1e-4 of lr plus the
				// float32 rounding of the parameter itself.
				for j, want := range s.Param.Data {
					got := float64(p.Value.Data[j])
					if d := math.Abs(got - want); d > 1e-4*c.LR+2.4e-7*math.Max(1, math.Abs(want)) {
						t.Errorf("step %d: param[%d] = %.9g, want %.9g", s.T, j, got, want)
					}
				}
				if n := st["step"].Data[0]; n != float32(s.T) {
					t.Errorf("state step = %v, want %d", n, s.T)
				}
			}
		})
	}
}

func TestAdamWeightDecayCoupledVersusDecoupled(t *testing.T) {
	// One step from w = 1 with ∇ = 0.5, η = 0.1, λ = 0.1 (bias-corrected m̂ = g, v̂ = g²):
	//   Adam:  g = 0.6, w = 1 − 0.1·0.6/0.6 = 0.9
	//   AdamW: w = 1·(1 − 0.01) = 0.99, then w = 0.99 − 0.1·0.5/0.5 = 0.89
	cases := []struct {
		name string
		make func(ps []*autodiff.Var) optim.Optimizer
		want float64
	}{
		{"Adam", func(ps []*autodiff.Var) optim.Optimizer {
			return optim.NewAdam(ps, optim.AdamConfig{LR: 0.1, WeightDecay: 0.1})
		}, 0.9},
		{"AdamW", func(ps []*autodiff.Var) optim.Optimizer {
			return optim.NewAdamW(ps, optim.AdamConfig{LR: 0.1, WeightDecay: 0.1})
		}, 0.89},
		{"AdamWNoDecay", func(ps []*autodiff.Var) optim.Optimizer {
			return optim.NewAdamW(ps, optim.AdamConfig{LR: 0.1})
		}, 0.9},
	}
	for _, c := range cases {
		p := param("w", []float32{1}, 1)
		opt := c.make(p1(p))
		p.Grad.Data[0] = 0.5
		opt.Step()
		if got := float64(p.Value.Data[0]); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("%s: w = %.7g, want %.7g", c.name, got, c.want)
		}
	}
}
