package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

func TestDINOMatchesReference(t *testing.T) {
	var file struct {
		Cases []struct {
			Name                     string
			V, G, N, K               int
			TauS                     float64 `json:"tau_s"`
			TauT                     float64 `json:"tau_t"`
			Student, Teacher, Center testvec.Tensor
			Loss                     float64
			GradStudent              testvec.Tensor `json:"grad_student"`
			CenterMomentum           float64        `json:"center_momentum"`
			NewCenter                testvec.Tensor `json:"new_center"`
		}
	}
	testvec.Load(t, "testdata/dino.json", &file)
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			teacher, center := tensorOf(c.Teacher), tensorOf(c.Center)
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				return DINO(in[0], teacher, center, c.N, float32(c.TauS), float32(c.TauT))
			}, tensorOf(c.Student))
			testvec.CloseScalar(t, "loss", loss, c.Loss, lossTol)
			testvec.Close(t, "grad_student", g[0], c.GradStudent, gradTol)
			DINOCenter(center, teacher, float32(c.CenterMomentum))
			testvec.Close(t, "new_center", center.Data, c.NewCenter, 1e-5)
		})
	}
}

// DINO is the swapped cross-entropy with the teacher's centred, sharpened softmax as targets.
func TestDINOMatchesNaiveAndFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 5))
	const v, g, n, k = 4, 2, 3, 5
	const ts, tt = 0.2, 0.05
	student := randn(rng, 1, v*n, k)
	teacher := randn(rng, 1, g*n, k)
	center := randn(rng, 0.3, k)
	targets := make([]float64, g*n*k)
	for r := range g * n {
		var sum float64
		for j := range k {
			targets[r*k+j] = math.Exp((float64(teacher.Data[r*k+j]) - float64(center.Data[j])) / tt)
			sum += targets[r*k+j]
		}
		for j := range k {
			targets[r*k+j] /= sum
		}
	}
	loss, grads := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return DINO(in[0], teacher, center, n, ts, tt) }, student)
	f := func(x []float64) float64 { return swappedNaive(x, targets, n, k, ts) }
	testvec.CloseScalar(t, "loss", loss, f(f64(student.Data)), lossTol)
	closeSlices(t, "grad_student", grads[0], numGrad(f, f64(student.Data)), student.Shape)
	// The centre matters: a different centre changes the loss.
	other := center.Clone()
	other.Data[0] += 1
	tp := autodiff.NewTape()
	if l2 := DINO(tp.Variable(student), teacher, other, n, ts, tt).Item(); float64(l2) == loss {
		t.Error("the loss does not depend on the centre")
	}
}

func TestDINOPanicsOnMisuse(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		student, teacher, center *tensor.Tensor
	}{
		{"teacher width", tensor.New(8, 3), tensor.New(4, 2), tensor.New(3)},
		{"center width", tensor.New(8, 3), tensor.New(4, 3), tensor.New(2)},
		{"more teacher views than views", tensor.New(8, 3), tensor.New(12, 3), tensor.New(3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tp := autodiff.NewTape()
			DINO(tp.Variable(tc.student), tc.teacher, tc.center, 4, 0.1, 0.04)
		})
	}
}
