package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

func TestNTXentMatchesReference(t *testing.T) {
	var file struct {
		Cases []struct {
			Name  string
			N, D  int
			Tau   float64
			Z     testvec.Tensor
			Loss  float64
			GradZ testvec.Tensor `json:"grad_z"`
		}
	}
	testvec.Load(t, "testdata/ntxent.json", &file)
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return NTXent(in[0], float32(c.Tau)) }, tensorOf(c.Z))
			testvec.CloseScalar(t, "loss", loss, c.Loss, lossTol)
			testvec.Close(t, "grad_z", g[0], c.GradZ, gradTol)
		})
	}
}

// ntxentNaive is the float64 per-element definition, with optional bank rows as extra negatives.
func ntxentNaive(z []float64, m, d int, tau float64, bank []float64, k int) float64 {
	u := normRows64(z, m, d)
	ub := normRows64(bank, k, d)
	n := m / 2
	var total float64
	for a := 0; a < m; a++ {
		var den float64
		for b := 0; b < m; b++ {
			if b != a {
				den += math.Exp(dotRows(u, a, u, b, d) / tau)
			}
		}
		for b := 0; b < k; b++ {
			den += math.Exp(dotRows(u, a, ub, b, d) / tau)
		}
		total += -dotRows(u, a, u, (a+n)%m, d)/tau + math.Log(den)
	}
	return total / float64(m)
}

func TestNTXentMemoryBankMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		m, d, k int
		tau     float64
	}{
		{"bank of 16", 8, 6, 16, 0.5},
		{"bank of 1, N=1", 2, 5, 1, 0.2},
		{"empty bank", 6, 4, 0, 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := randn(rng, 1, tc.m, tc.d)
			bank := randn(rng, 2, tc.k, tc.d)
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				return NTXent(in[0], float32(tc.tau), WithMemoryBank(bank))
			}, z)
			bank64 := f64(bank.Data)
			f := func(x []float64) float64 { return ntxentNaive(x, tc.m, tc.d, tc.tau, bank64, tc.k) }
			want := f(f64(z.Data))
			testvec.CloseScalar(t, "loss", loss, want, lossTol)
			closeSlices(t, "grad_z", g[0], numGrad(f, f64(z.Data)), z.Shape)
		})
	}
}

// The bank is a plain tensor (a constant: it cannot receive a gradient); NTXent normalises a copy.
func TestNTXentLeavesTheMemoryBankUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bank := randn(rng, 1, 5, 4)
	keep := bank.Clone()
	tp := autodiff.NewTape()
	z := tp.Variable(randn(rng, 1, 4, 4))
	tp.Backward(NTXent(z, 0.5, WithMemoryBank(bank)))
	for i := range bank.Data {
		if bank.Data[i] != keep.Data[i] {
			t.Fatal("NTXent modified the memory bank")
		}
	}
}

func TestNTXentPanicsOnMisuse(t *testing.T) {
	for _, tc := range []struct {
		name string
		z    *tensor.Tensor
		tau  float32
		bank *tensor.Tensor
	}{
		{"odd rows", tensor.New(3, 4), 0.5, nil},
		{"zero tau", tensor.New(4, 4), 0, nil},
		{"bank width", tensor.New(4, 4), 0.5, tensor.New(2, 3)},
		{"1-D input", tensor.New(8), 0.5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tp := autodiff.NewTape()
			NTXent(tp.Variable(tc.z), tc.tau, WithMemoryBank(tc.bank))
		})
	}
}

func BenchmarkNTXent(b *testing.B) {
	const n, d = 512, 128
	z := randn(rand.New(rand.NewPCG(3, 3)), 1, 2*n, d)
	tp := autodiff.NewTape()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := tp.Variable(z)
		tp.Backward(NTXent(v, 0.5))
		tp.Reset()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}
