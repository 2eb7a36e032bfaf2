package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
)

func TestNNCLRMatchesReference(t *testing.T) {
	var file struct {
		Cases []struct {
			Name             string
			Tau              float64
			NN1, NN2, P1, P2 testvec.Tensor
			Loss             float64
			GradP1           testvec.Tensor `json:"grad_p1"`
			GradP2           testvec.Tensor `json:"grad_p2"`
		}
	}
	testvec.Load(t, "testdata/nnclr.json", &file)
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				return NNCLR(in[0], in[1], in[2], in[3], float32(c.Tau))
			}, tensorOf(c.NN1), tensorOf(c.NN2), tensorOf(c.P1), tensorOf(c.P2))
			testvec.CloseScalar(t, "loss", loss, c.Loss, lossTol)
			testvec.Close(t, "grad_p1", g[2], c.GradP1, gradTol)
			testvec.Close(t, "grad_p2", g[3], c.GradP2, gradTol)
			if maxAbs(g[0]) != 0 || maxAbs(g[1]) != 0 {
				t.Error("the nearest neighbours (constants) received a gradient")
			}
		})
	}
}

// nnclrNaive is ½ℓ(nn1, p2) + ½ℓ(nn2, p1) in float64 with p = [p1; p2] flattened.
func nnclrNaive(nn1, nn2, p []float64, n, d int, tau float64) float64 {
	ell := func(a, b []float64) float64 {
		ua, ub := normRows64(a, n, d), normRows64(b, n, d)
		var total float64
		for i := 0; i < n; i++ {
			var den float64
			for k := 0; k < n; k++ {
				den += math.Exp(dotRows(ua, i, ub, k, d) / tau)
			}
			total += -dotRows(ua, i, ub, i, d)/tau + math.Log(den)
		}
		return total / float64(n)
	}
	return 0.5*ell(nn1, p[n*d:]) + 0.5*ell(nn2, p[:n*d])
}

func TestNNCLRMatchesNaiveAndFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 2))
	const n, d, tau = 6, 5, 0.2
	nn1, nn2 := randn(rng, 1, n, d), randn(rng, 1, n, d)
	p1, p2 := randn(rng, 1, n, d), randn(rng, 1, n, d)
	loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
		return NNCLR(in[0], in[1], in[2], in[3], tau)
	}, nn1, nn2, p1, p2)
	p := append(f64(p1.Data), f64(p2.Data)...)
	f := func(x []float64) float64 { return nnclrNaive(f64(nn1.Data), f64(nn2.Data), x, n, d, tau) }
	testvec.CloseScalar(t, "loss", loss, f(p), lossTol)
	closeSlices(t, "grad_p", append(g[2], g[3]...), numGrad(f, p), []int{2 * n, d})
}
