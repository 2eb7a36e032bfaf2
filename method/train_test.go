package method

import (
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/optim"
)

// TestShortTrainingDecreasesTheLoss trains each method for 40 steps on views (noise, flips) of
// 24 fixed random images and checks the mean loss of the last 8 steps is below that of steps
// 4–11 (MoCo's first steps use random queue vectors, which are easy negatives). DINO's loss is
// the teacher's entropy plus the student's KL divergence from it, and the centring raises the
// entropy as training goes: TestDINOStudentApproachesTheTeacher checks its KL instead.
func TestShortTrainingDecreasesTheLoss(t *testing.T) {
	for _, name := range []string{"simclr", "moco-v2", "byol", "barlow-twins", "vicreg", "simsiam", "moco-v3", "supcon", "dcl", "dclw", "nnclr", "swav"} {
		t.Run(name, func(t *testing.T) {
			m := newMethod(t, name, 1)
			base := randomImages(24, 99)
			rng := rand.New(rand.NewPCG(5, 5))
			tp := autodiff.NewTape()
			opt := optim.NewAdam(m.Params(), optim.AdamConfig{LR: 3e-3})
			const steps = 40
			losses := make([]float64, steps)
			for i := range steps {
				losses[i] = float64(step(tp, m, opt, viewsOf(tp, base, 16, rng), float64(i+1)/steps))
				if !finite(float32(losses[i])) {
					t.Fatalf("step %d: loss %v", i, losses[i])
				}
			}
			mean := func(l []float64) float64 {
				s := 0.0
				for _, v := range l {
					s += v
				}
				return s / float64(len(l))
			}
			early, late := mean(losses[4:12]), mean(losses[steps-8:])
			t.Logf("%s: early %.4f, late %.4f", name, early, late)
			if !(late < early) {
				t.Errorf("loss did not decrease: steps 4–11 %.4f, last 8 %.4f (%v)", early, late, losses)
			}
		})
	}
}
