package method

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/optim"
)

// dinoKL returns the KL divergence of the student from the teacher targets on b: DINO's loss
// minus the mean entropy of the targets softmax((t − c)/τ_t) (each target enters the loss V−1
// times with the same weight). It leaves the method's state as it was.
func dinoKL(t *testing.T, s *DINO, b Batch) float64 {
	t.Helper()
	center := s.center.Clone()
	l := float64(s.Loss(b).Item())
	tt := s.pending
	k := tt.Shape[1]
	var h float64
	for r := range tt.Shape[0] {
		row := make([]float64, k)
		m := math.Inf(-1)
		for j := range k {
			row[j] = float64(tt.Data[r*k+j]-center.Data[j]) / float64(s.tauT)
			m = math.Max(m, row[j])
		}
		var z float64
		for j := range row {
			row[j] = math.Exp(row[j] - m)
			z += row[j]
		}
		for _, p := range row {
			if p > 0 {
				h -= p / z * math.Log(p/z)
			}
		}
	}
	h /= float64(tt.Shape[0])
	s.pending = nil
	b.X.Tape().Reset()
	return l - h
}

// TestDINOStudentApproachesTheTeacher trains on views of 24 random images: once the centre has
// settled (its momentum 0.9 makes the first ~30 steps move the targets themselves), the
// student's KL divergence from the teacher's targets must fall.
func TestDINOStudentApproachesTheTeacher(t *testing.T) {
	s := newMethod(t, "dino", 1).(*DINO)
	base := randomImages(24, 99)
	rng := rand.New(rand.NewPCG(5, 5))
	tp := autodiff.NewTape()
	probe := func() float64 { return dinoKL(t, s, viewsOf(tp, base, 16, rand.New(rand.NewPCG(6, 6)))) }
	opt := optim.NewAdam(s.Params(), optim.AdamConfig{LR: 3e-3})
	const settle, steps = 30, 80
	var before float64
	for i := range steps {
		if i == settle {
			before = probe()
		}
		step(tp, s, opt, viewsOf(tp, base, 16, rng), float64(i+1)/steps)
	}
	after := probe()
	t.Logf("KL(teacher ‖ student): %.4f after %d steps, %.4f after %d", before, settle, after, steps)
	if !(after < 0.8*before) {
		t.Errorf("the student did not approach the teacher: KL %.4f after %d steps, %.4f after %d", before, settle, after, steps)
	}
}

// TestDINOTeacherAndCentre checks the after-step updates: the teacher (network and last layer)
// follows the EMA at the cosine momentum, and the centre moves 10% towards the batch mean of
// the teacher outputs.
func TestDINOTeacherAndCentre(t *testing.T) {
	s := newMethod(t, "dino", 1).(*DINO)
	tp := autodiff.NewTape()
	opt := optim.NewAdam(s.Params(), optim.AdamConfig{LR: 1e-2})
	opt.ZeroGrad()
	tp.Backward(s.Loss(randomBatch(tp, 8, 3)))
	teacherOut := s.pending.Clone()
	opt.Step()
	tp.Reset()
	oldNet := snapshot(s.teacher.Params())
	oldLast := append([]float32(nil), s.teacherLast.Value.Data...)
	oldCenter := s.center.Clone()
	s.AfterStep(0.5)
	m := s.Momentum(0.5)
	if math.Abs(m-0.998) > 1e-12 {
		t.Fatalf("momentum at half-way %v, want 0.998 (0.996 → 1 on a cosine)", m)
	}
	checkEMA(t, s.teacher, s.model, oldNet, m)
	for i, v := range s.teacherLast.Value.Data {
		want := m*float64(oldLast[i]) + (1-m)*float64(s.last.Value.Data[i])
		if math.Abs(float64(v)-want) > 1e-6 {
			t.Fatalf("teacher last layer[%d] = %v, want %v", i, v, want)
		}
	}
	k := s.center.Numel()
	rows := teacherOut.Shape[0]
	for j := range k {
		var mean float64
		for r := range rows {
			mean += float64(teacherOut.Data[r*k+j]) / float64(rows)
		}
		want := 0.9*float64(oldCenter.Data[j]) + 0.1*mean
		if math.Abs(float64(s.center.Data[j])-want) > 1e-6 {
			t.Fatalf("centre[%d] = %v, want %v", j, s.center.Data[j], want)
		}
	}
}

// TestFrozenLastLayers checks that SwAV's prototypes and DINO's last layer get no gradient for
// the first FreezeSteps steps and learn afterwards.
func TestFrozenLastLayers(t *testing.T) {
	for _, name := range []string{"swav", "dino"} {
		t.Run(name, func(t *testing.T) {
			m := newMethod(t, name, 1)
			var last *autodiff.Var
			switch x := m.(type) {
			case *SwAV:
				x.FreezeSteps, last = 2, x.prototypes
			case *DINO:
				x.FreezeSteps, last = 2, x.last
			}
			tp := autodiff.NewTape()
			for i := range 3 {
				last.ZeroGrad()
				tp.Backward(m.Loss(randomBatch(tp, 8, uint64(i))))
				tp.Reset()
				frozen := allZero(last.Grad.Data)
				if frozen != (i < 2) {
					t.Errorf("step %d: last layer frozen %v, want %v", i, frozen, i < 2)
				}
				m.AfterStep(float64(i) / 10)
			}
		})
	}
}
