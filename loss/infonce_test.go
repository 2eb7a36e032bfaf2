package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
)

func TestInfoNCEMatchesReference(t *testing.T) {
	var file struct {
		Cases []struct {
			Name   string
			Tau    float64
			Q      testvec.Tensor `json:"q"`
			K      testvec.Tensor `json:"k"`
			NumNeg int            `json:"K"`
			Queue  testvec.Tensor `json:"queue"`
			Loss   float64
			GradQ  testvec.Tensor `json:"grad_q"`
		}
	}
	testvec.Load(t, "testdata/infonce_moco.json", &file)
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			// k and queue enter as Variables: they must still get no gradient.
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				return InfoNCE(in[0], in[1], in[2], float32(c.Tau))
			}, tensorOf(c.Q), tensorOf(c.K), tensorOf(c.Queue))
			testvec.CloseScalar(t, "loss", loss, c.Loss, lossTol)
			testvec.Close(t, "grad_q", g[0], c.GradQ, gradTol)
			if maxAbs(g[1]) != 0 || maxAbs(g[2]) != 0 {
				t.Error("keys or queue received a gradient; they are stop-gradient")
			}
		})
	}
}

// ctrNaive is one MoCo v3 direction in float64: 2τ·mean CE(q̂k̂ᵀ/τ, diagonal).
func ctrNaive(q, k []float64, n, d int, tau float64) float64 {
	uq, uk := normRows64(q, n, d), normRows64(k, n, d)
	var total float64
	for i := 0; i < n; i++ {
		var den float64
		for j := 0; j < n; j++ {
			den += math.Exp(dotRows(uq, i, uk, j, d) / tau)
		}
		total += math.Log(den) - dotRows(uq, i, uk, i, d)/tau
	}
	return 2 * tau * total / float64(n)
}

func TestMoCoV3MatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name string
		n, d int
		tau  float64
	}{
		{"batch 6", 6, 5, 0.2},
		{"batch 1", 1, 3, 1.0},
		{"small tau", 8, 4, 0.05},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q1, q2 := randn(rng, 1, tc.n, tc.d), randn(rng, 3, tc.n, tc.d)
			k1, k2 := randn(rng, 1, tc.n, tc.d), randn(rng, 1, tc.n, tc.d)
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				return MoCoV3(in[0], in[1], in[2], in[3], float32(tc.tau))
			}, q1, q2, k1, k2)
			K1, K2 := f64(k1.Data), f64(k2.Data)
			f1 := func(x []float64) float64 { return ctrNaive(x, K2, tc.n, tc.d, tc.tau) }
			f2 := func(x []float64) float64 { return ctrNaive(x, K1, tc.n, tc.d, tc.tau) }
			testvec.CloseScalar(t, "loss", loss, f1(f64(q1.Data))+f2(f64(q2.Data)), lossTol)
			closeSlices(t, "grad_q1", g[0], numGrad(f1, f64(q1.Data)), q1.Shape)
			closeSlices(t, "grad_q2", g[1], numGrad(f2, f64(q2.Data)), q2.Shape)
			if maxAbs(g[2]) != 0 || maxAbs(g[3]) != 0 {
				t.Error("keys received a gradient; they are stop-gradient")
			}
		})
	}
}
