package train

import (
	"math"
	"slices"
	"time"

	"github.com/contrastive-go/contrastive/optim"
)

// The epoch fit (Config.FitEpochs) times the steps after the first fitSkip ones (which pay for
// first-touch allocations and the GEMM kernel choice) up to fitAt steps, then sets Epochs.
const (
	fitSkip = 3
	// fitReserve is the part of MaxTime kept for what the step timing does not see: the
	// epoch-end checkpoints and metrics, the final kNN monitor and changes in the machine's load.
	fitReserve = 0.06
	// MaxFitEpochs bounds the fitted length (a tiny data set and a long --max-time).
	MaxFitEpochs = 1000
)

// fitState is the epoch fit in progress: zero when there is none or it is done.
type fitState struct {
	at       int       // global step at which to decide
	from     time.Time // when step fitSkip ended
	fromStep int
}

// startFit arms the epoch fit for a fresh run with FitEpochs and MaxTime.
func (t *Trainer) startFit() {
	cfg := &t.Config
	if !cfg.FitEpochs || cfg.MaxTime <= 0 || t.stored != nil {
		return
	}
	// Decide within the warm-up when there is one, so the schedule before the choice does not
	// depend on it; but time at least a few steps.
	at := fitSkip + 8
	if w := int(cfg.Warmup * float64(t.StepsPerEpoch)); w > at {
		at = min(w, fitSkip+60)
	}
	t.fit = fitState{at: at}
}

// fitStep is called after every step; at the deciding step it sets Epochs, the total of steps
// and the schedule from the measured time per step.
func (t *Trainer) fitStep() {
	f := &t.fit
	if f.at == 0 {
		return
	}
	g := t.pos.GlobalStep
	if g == fitSkip {
		f.from, f.fromStep = time.Now(), g
		return
	}
	if g < f.at || f.from.IsZero() {
		return
	}
	perStep := time.Since(f.from).Seconds() / float64(g-f.fromStep)
	elapsed := time.Since(t.start).Seconds()
	if t.Comm != nil && t.Comm.Size() > 1 {
		// Every rank must choose the same length: the slowest rank's pace and clock.
		n, r := t.Comm.Size(), t.Comm.Rank()
		buf := make([]float64, 2*n)
		buf[r], buf[n+r] = perStep, elapsed
		t.Comm.AllReduce64(buf)
		perStep, elapsed = slices.Max(buf[:n]), slices.Max(buf[n:])
	}
	*f = fitState{}
	cfg := &t.Config
	epochs := FitEpochsFor(time.Duration(cfg.MaxTime), time.Duration(elapsed*float64(time.Second)), time.Duration(perStep*float64(time.Second)), g, t.StepsPerEpoch, cfg.Warmup)
	epochs = max(min(epochs, cfg.Epochs), int(math.Ceil(cfg.Warmup))) // Epochs is the cap
	cfg.Epochs = epochs
	t.TotalSteps = t.StepsPerEpoch * epochs
	if cfg.Schedule == "cosine" {
		t.Schedule = optim.Cosine(int(cfg.Warmup*float64(t.StepsPerEpoch)), t.TotalSteps, cfg.LR, 0)
	}
	logf(t.Log, "auto: --epochs %d so that the schedule ends within --max-time %s (%.3f s/step measured over steps %d-%d, %d steps/epoch); pass --epochs to choose\n",
		epochs, time.Duration(cfg.MaxTime), perStep, fitSkip+1, g, t.StepsPerEpoch)
	if !t.rank0() {
		return
	}
	if err := t.writeConfig(); err != nil {
		logf(t.Log, "warning: rewriting config.json: %v\n", err)
	}
}

// FitEpochsFor is the number of epochs of stepsPerEpoch steps that fit in budget at perStep
// per step after done steps and elapsed time: the rule fitStep applies, for tools and tests.
func FitEpochsFor(budget, elapsed, perStep time.Duration, done, stepsPerEpoch int, warmup float64) int {
	left := budget.Seconds()*(1-fitReserve) - elapsed.Seconds()
	total := done + int(math.Max(0, left/perStep.Seconds()))
	return min(max(total/stepsPerEpoch, 1, int(math.Ceil(warmup))), MaxFitEpochs)
}
