// Package optim holds the optimizers that update parameters from their gradients — SGD (momentum,
// Nesterov), Adam, AdamW and LARS — and the learning-rate schedules used with them.
//
// An optimizer owns a list of parameters (autodiff.Param leaves). After Tape.Backward has filled
// their gradients, Step updates param.Value.Data in place from param.Grad.Data; ZeroGrad clears
// the gradients for the next step (they accumulate otherwise, as in PyTorch). The semantics
// follow PyTorch 1.13's torch.optim unless a type's comment says otherwise.
//
//	opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 1e-3})
//	for step := range steps {
//		opt.SetLR(optim.WarmupCosine(step, 500, steps, 1e-3, 0))
//		opt.ZeroGrad()
//		tp.Backward(loss(batch))
//		opt.Step()
//	}
//
// State and LoadState save and restore everything a bit-identical resume needs: the step count
// ("step") and each parameter's buffers, keyed by parameter name and buffer kind
// ("encoder.0.weight.exp_avg"), as float32 tensors. The learning rate is not part of the state:
// a schedule recomputes it from the step.
package optim

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/tensor"
)

// Optimizer updates a fixed list of parameters from their gradients.
type Optimizer interface {
	// Step applies one update to every parameter from its current gradient.
	Step()
	// ZeroGrad clears every parameter's gradient.
	ZeroGrad()
	// LR returns the current learning rate.
	LR() float64
	// SetLR sets the learning rate for the following steps (schedules call it each step).
	SetLR(lr float64)
	// State returns copies of everything needed to resume exactly: "step" and the per-parameter
	// buffers, keyed by parameter name plus a suffix such as ".exp_avg".
	State() map[string]*tensor.Tensor
	// LoadState restores a State. It fails, changing nothing, when a buffer is missing, has the
	// wrong shape, or a key belongs to no parameter of this optimizer.
	LoadState(map[string]*tensor.Tensor) error
}

// stepKey is the State key of the number of steps taken.
const stepKey = "step"

// grain is the number of parameter elements below which an update runs on one goroutine.
const grain = 1 << 14

// base holds what every optimizer shares: the parameters, their State keys, the learning rate
// and the step count.
type base struct {
	params []*autodiff.Var
	keys   []string // State key prefix of each parameter
	lr     float64
	step   int
}

func newBase(op string, params []*autodiff.Var, lr float64) base {
	checkNonNeg(op, "learning rate", lr)
	keys := make([]string, len(params))
	seen := make(map[string]bool, len(params))
	for i, p := range params {
		if p == nil || p.Value == nil {
			panic(fmt.Sprintf("optim.%s: parameter %d is nil", op, i))
		}
		keys[i] = p.Name
		if p.Name == "" || seen[p.Name] {
			// Unnamed or repeated names fall back to the position, which is stable for a model.
			keys[i] = fmt.Sprintf("param.%d", i)
		}
		seen[keys[i]] = true
	}
	return base{params: params, keys: keys, lr: lr}
}

func checkNonNeg(op, what string, v float64) {
	if !(v >= 0) || math.IsInf(v, 1) {
		panic(fmt.Sprintf("optim.%s: %s must be finite and >= 0, got %g", op, what, v))
	}
}

// LR returns the current learning rate.
func (b *base) LR() float64 { return b.lr }

// SetLR sets the learning rate used by the following steps.
func (b *base) SetLR(lr float64) { b.lr = lr }

// ZeroGrad clears every parameter's gradient.
func (b *base) ZeroGrad() {
	for _, p := range b.params {
		p.ZeroGrad()
	}
}

// Steps returns the number of steps taken (restored by LoadState).
func (b *base) Steps() int { return b.step }

// Params returns the parameters this optimizer updates.
func (b *base) Params() []*autodiff.Var { return b.params }

// slot is one kind of per-parameter buffer (PyTorch's "exp_avg", "momentum_buffer", ...); a
// parameter's buffer is nil until its first step.
type slot struct {
	suffix string
	bufs   [][]float32
}

func newSlot(suffix string, n int) *slot { return &slot{suffix: suffix, bufs: make([][]float32, n)} }

// get returns parameter i's buffer, allocating a zero one on first use; fresh reports that.
func (s *slot) get(i, n int) (buf []float32, fresh bool) {
	if s.bufs[i] == nil {
		s.bufs[i] = make([]float32, n)
		return s.bufs[i], true
	}
	return s.bufs[i], false
}

// saveState copies the step count and every allocated buffer of slots.
func (b *base) saveState(slots ...*slot) map[string]*tensor.Tensor {
	st := map[string]*tensor.Tensor{stepKey: tensor.Scalar(float32(b.step))}
	for _, s := range slots {
		for i, buf := range s.bufs {
			if buf != nil {
				st[b.keys[i]+s.suffix] = tensor.FromSlice(append([]float32(nil), buf...), b.params[i].Shape()...)
			}
		}
	}
	return st
}

// loadState validates st against the parameters and slots and, only if all is well, installs it.
// Buffers may be absent only for a parameter that has not stepped yet (step 0).
func (b *base) loadState(op string, st map[string]*tensor.Tensor, slots ...*slot) error {
	t, ok := st[stepKey]
	if !ok {
		return fmt.Errorf("optim.%s.LoadState: no %q entry", op, stepKey)
	}
	if len(t.Data) != 1 || t.Data[0] < 0 || t.Data[0] != float32(math.Trunc(float64(t.Data[0]))) {
		return fmt.Errorf("optim.%s.LoadState: %q must be one non-negative integer, got %v", op, stepKey, t)
	}
	step := int(t.Data[0])
	known := map[string]bool{stepKey: true}
	loaded := make([][][]float32, len(slots))
	for j, s := range slots {
		loaded[j] = make([][]float32, len(b.params))
		for i, p := range b.params {
			key := b.keys[i] + s.suffix
			known[key] = true
			v, ok := st[key]
			if !ok {
				if step > 0 {
					return fmt.Errorf("optim.%s.LoadState: missing %q (step %d)", op, key, step)
				}
				continue
			}
			if !tensor.SameShape(v.Shape, p.Shape()) || len(v.Data) != p.Value.Numel() {
				return fmt.Errorf("optim.%s.LoadState: %q has shape %v, parameter has %v", op, key, v.Shape, p.Shape())
			}
			loaded[j][i] = append([]float32(nil), v.Data...)
		}
	}
	for key := range st {
		if !known[key] {
			return fmt.Errorf("optim.%s.LoadState: unexpected entry %q (not a buffer of this optimizer's parameters)", op, key)
		}
	}
	b.step = step
	for j, s := range slots {
		s.bufs = loaded[j]
	}
	return nil
}

// each runs fn over [0, n) in parallel chunks.
func each(n int, fn func(lo, hi int)) { parallel.For(n, grain, fn) }

// norm2 returns the Euclidean norm of x, accumulated in float64.
func norm2(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}
