package optim

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate for a 0-based step: opt.SetLR(s(step)) before each Step.
type Schedule func(step int) float64

// WarmupCosine is the learning rate at a 0-based step of a linear warm-up followed by a cosine
// decay to a floor (SimCLR, BYOL, MoCo v3):
//
//	lr = base · step/warmupSteps                                  for step < warmupSteps
//	lr = final + (base − final) · ½·(1 + cos(π·(step − warmupSteps)/(totalSteps − warmupSteps)))
//	                                                              for warmupSteps ≤ step < totalSteps
//	lr = final                                                    for step ≥ totalSteps
//
// so the warm-up starts at 0 and reaches base at step warmupSteps, where the decay starts. It
// panics unless 0 ≤ warmupSteps ≤ totalSteps and step ≥ 0.
func WarmupCosine(step, warmupSteps, totalSteps int, base, final float64) float64 {
	if warmupSteps < 0 || totalSteps < warmupSteps || step < 0 {
		panic(fmt.Sprintf("optim.WarmupCosine: need 0 <= warmupSteps <= totalSteps and step >= 0, got step %d, warmup %d, total %d", step, warmupSteps, totalSteps))
	}
	switch {
	case step < warmupSteps:
		return base * float64(step) / float64(warmupSteps)
	case step >= totalSteps:
		return final
	}
	progress := float64(step-warmupSteps) / float64(totalSteps-warmupSteps)
	return final + (base-final)*0.5*(1+math.Cos(math.Pi*progress))
}

// Cosine returns WarmupCosine as a Schedule (warmupSteps 0 gives a plain cosine decay).
func Cosine(warmupSteps, totalSteps int, base, final float64) Schedule {
	WarmupCosine(0, warmupSteps, totalSteps, base, final) // validate now, not at the first step
	return func(step int) float64 { return WarmupCosine(step, warmupSteps, totalSteps, base, final) }
}

// Constant returns a Schedule that is lr at every step.
func Constant(lr float64) Schedule { return func(int) float64 { return lr } }
