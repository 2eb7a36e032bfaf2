package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

type swavFile struct {
	Sinkhorn struct {
		Cases []struct {
			Name          string
			B, K, Iters   int
			Eps           float64
			Scores, Codes testvec.Tensor
		}
	} `json:"sinkhorn"`
	SwAV struct {
		Cases []struct {
			Name       string
			V, G, N, K int
			Tau        float64
			Scores, Q  testvec.Tensor
			Loss       float64
			GradScores testvec.Tensor `json:"grad_scores"`
		}
	} `json:"swav"`
}

func TestSinkhornMatchesReference(t *testing.T) {
	var f swavFile
	testvec.Load(t, "testdata/swav.json", &f)
	if len(f.Sinkhorn.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range f.Sinkhorn.Cases {
		t.Run(c.Name, func(t *testing.T) {
			q := Sinkhorn(c.Scores.F32(), c.B, c.K, c.Eps, c.Iters)
			testvec.Close(t, "codes", q.Data, c.Codes, 1e-5)
			if c.Iters == 0 {
				return
			}
			// Every sample's codes sum to 1; every prototype receives about B/K of the batch.
			for i := range c.B {
				var s float64
				for j := range c.K {
					s += float64(q.Data[i*c.K+j])
				}
				if math.Abs(s-1) > 1e-5 {
					t.Errorf("sample %d: codes sum to %v", i, s)
				}
			}
		})
	}
}

// Many Sinkhorn iterations reach the equipartition exactly: each prototype's total is B/K.
func TestSinkhornEquipartitions(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const b, k = 16, 5
	s := randn(rng, 0.3, b, k)
	q := Sinkhorn(s.Data, b, k, 0.05, 200)
	for j := range k {
		var tot float64
		for i := range b {
			tot += float64(q.Data[i*k+j])
		}
		if math.Abs(tot-float64(b)/k) > 1e-3 {
			t.Errorf("prototype %d receives %v of the batch, want %v", j, tot, float64(b)/k)
		}
	}
	// Scores ×20 at ε = 0.05 (exponents up to 400) stay finite.
	for i := range s.Data {
		s.Data[i] *= 20
	}
	if q := Sinkhorn(s.Data, b, k, 0.05, 3); !allFinite(q.Data) {
		t.Error("non-finite codes for large scores")
	}
}

func TestSwAVMatchesReference(t *testing.T) {
	var f swavFile
	testvec.Load(t, "testdata/swav.json", &f)
	if len(f.SwAV.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range f.SwAV.Cases {
		t.Run(c.Name, func(t *testing.T) {
			q := tensorOf(c.Q)
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return SwAV(in[0], q, c.N, float32(c.Tau)) }, tensorOf(c.Scores))
			testvec.CloseScalar(t, "loss", loss, c.Loss, lossTol)
			testvec.Close(t, "grad_scores", g[0], c.GradScores, gradTol)
			// The codes computed here agree with the reference's.
			for gi := range c.G {
				got := Sinkhorn(c.Scores.F32()[gi*c.N*c.K:(gi+1)*c.N*c.K], c.N, c.K, 0.05, 3)
				want := testvec.Tensor{Shape: []int{c.N, c.K}, Data: c.Q.Data[gi*c.N*c.K : (gi+1)*c.N*c.K]}
				testvec.Close(t, "q", got.Data, want, 1e-4)
			}
		})
	}
}

// swappedNaive is the swapped-prediction cross-entropy in float64, one term at a time.
func swappedNaive(s, q []float64, n, k int, tau float64) float64 {
	v, g := len(s)/(n*k), len(q)/(n*k)
	var total float64
	for gi := range g {
		for vi := range v {
			if vi == gi {
				continue
			}
			for i := range n {
				row := s[(vi*n+i)*k : (vi*n+i+1)*k]
				m := math.Inf(-1)
				for _, x := range row {
					m = math.Max(m, x/tau)
				}
				var se float64
				for _, x := range row {
					se += math.Exp(x/tau - m)
				}
				lse := m + math.Log(se)
				for j, x := range row {
					total += q[(gi*n+i)*k+j] * (lse - x/tau)
				}
			}
		}
	}
	return total / float64(g*(v-1)*n)
}

func TestSwAVMatchesNaiveAndFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 3))
	for _, tc := range []struct {
		name    string
		v, g, n int
		k       int
		tau     float64
	}{{"two views", 2, 2, 5, 4, 0.1}, {"multi-crop", 4, 2, 3, 6, 0.2}, {"soft targets not summing to 1", 3, 1, 4, 3, 0.5}} {
		t.Run(tc.name, func(t *testing.T) {
			s := randn(rng, 1, tc.v*tc.n, tc.k)
			q := randn(rng, 1, tc.g*tc.n, tc.k)
			for i := range q.Data {
				q.Data[i] = float32(math.Abs(float64(q.Data[i])))
			}
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return SwAV(in[0], q, tc.n, float32(tc.tau)) }, s)
			f := func(x []float64) float64 { return swappedNaive(x, f64(q.Data), tc.n, tc.k, tc.tau) }
			testvec.CloseScalar(t, "loss", loss, f(f64(s.Data)), lossTol)
			closeSlices(t, "grad_scores", g[0], numGrad(f, f64(s.Data)), s.Shape)
		})
	}
}

func TestSwAVPanicsOnMisuse(t *testing.T) {
	for _, tc := range []struct {
		name      string
		scores, q *tensor.Tensor
		n         int
	}{
		{"one view", tensor.New(4, 3), tensor.New(4, 3), 4},
		{"rows not a multiple of n", tensor.New(7, 3), tensor.New(3, 3), 3},
		{"codes of another width", tensor.New(8, 3), tensor.New(4, 2), 4},
		{"more assigned views than views", tensor.New(8, 3), tensor.New(12, 3), 4},
		{"no codes", tensor.New(8, 3), nil, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tp := autodiff.NewTape()
			SwAV(tp.Variable(tc.scores), tc.q, tc.n, 0.1)
		})
	}
}
