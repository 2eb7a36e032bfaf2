package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
)

func TestSupConMatchesReference(t *testing.T) {
	var file struct {
		Cases []struct {
			Name   string
			Tau    float64
			Labels []int
			Z      testvec.Tensor
			Loss   float64
			GradZ  testvec.Tensor `json:"grad_z"`
		}
	}
	testvec.Load(t, "testdata/supcon.json", &file)
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				return SupCon(in[0], c.Labels, float32(c.Tau), float32(c.Tau))
			}, tensorOf(c.Z))
			testvec.CloseScalar(t, "loss", loss, c.Loss, lossTol)
			testvec.Close(t, "grad_z", g[0], c.GradZ, gradTol)
		})
	}
}

// supconNaive is the L_out definition in float64 for V views; anchors without positive are
// left out of the mean.
func supconNaive(z []float64, labels []int, m, d int, tau, base float64) float64 {
	u := normRows64(z, m, d)
	n := len(labels)
	var total float64
	valid := 0
	for a := 0; a < m; a++ {
		var den, pos float64
		cnt := 0
		for b := 0; b < m; b++ {
			if b == a {
				continue
			}
			s := dotRows(u, a, u, b, d) / tau
			den += math.Exp(s)
			if labels[b%n] == labels[a%n] {
				pos += s
				cnt++
			}
		}
		if cnt == 0 {
			continue
		}
		total += math.Log(den) - pos/float64(cnt)
		valid++
	}
	if valid == 0 {
		return 0
	}
	return tau / base * total / float64(valid)
}

func TestSupConViewsAndAnchorsWithoutPositive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name      string
		labels    []int
		views, d  int
		tau, base float64
	}{
		{"one view, singleton labels excluded", []int{0, 1, 0, 2, 1, 3}, 1, 5, 0.5, 0.5},
		{"three views", []int{0, 1, 0, 2}, 3, 4, 0.3, 0.3},
		{"base temperature scales", []int{0, 0, 1, 1}, 2, 4, 0.1, 0.07},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.views * len(tc.labels)
			z := randn(rng, 1, m, tc.d)
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				return SupCon(in[0], tc.labels, float32(tc.tau), float32(tc.base))
			}, z)
			f := func(x []float64) float64 { return supconNaive(x, tc.labels, m, tc.d, tc.tau, tc.base) }
			testvec.CloseScalar(t, "loss", loss, f(f64(z.Data)), lossTol)
			closeSlices(t, "grad_z", g[0], numGrad(f, f64(z.Data)), z.Shape)
		})
	}
}

func TestSupConWithoutAnyPositiveIsZeroNotNaN(t *testing.T) {
	z := randn(rand.New(rand.NewPCG(9, 9)), 1, 3, 4)
	loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return SupCon(in[0], []int{1, 2, 3}, 0.1, 0) }, z)
	if loss != 0 || maxAbs(g[0]) != 0 {
		t.Errorf("loss %v, max |grad| %v; want 0 and 0", loss, maxAbs(g[0]))
	}
}
