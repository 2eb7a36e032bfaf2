// Package autodiff is the engine's reverse-mode automatic differentiation over float32 tensors.
//
// A forward computation is recorded on a Tape: inputs enter with Tape.Constant, trainable
// parameters are leaves made with Param (they belong to no tape and keep their gradient between
// steps, as in PyTorch), and every op returns a new *Var. Tape.Backward(loss) then fills Grad on
// every Var that requires one; a Var used twice receives the sum of both contributions. Constants
// and Detach-ed values receive no gradient (MoCo's keys and queue need this).
//
// Intermediate tensors come from the tape's buffer pool; Tape.Reset hands them back so that the
// next step reuses them. Copy any intermediate value you want to keep before calling Reset.
//
//	tp := autodiff.NewTape()
//	x := tp.Constant(batch)
//	loss := autodiff.Mean(autodiff.ReLU(autodiff.MatMul(x, w, false, true)))
//	tp.Backward(loss) // w.Grad now holds dloss/dw
//	tp.Reset()
package autodiff

import (
	"fmt"

	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/tensor"
)

// Var is a node of the computation: a value, and after Backward its gradient.
type Var struct {
	Value *tensor.Tensor
	// Grad has Value's shape; for parameters it accumulates across Backward calls until ZeroGrad.
	Grad *tensor.Tensor
	// Name labels parameters (PyTorch state_dict style, e.g. "encoder.0.weight").
	Name string

	requiresGrad bool
	ownsValue    bool // Value came from the tape's pool for this Var alone (not a view)
	tape         *Tape
	backward     func()
}

// Param returns a trainable leaf wrapping t, with a zero gradient buffer.
func Param(t *tensor.Tensor) *Var {
	return &Var{Value: t, Grad: tensor.New(t.Shape...), requiresGrad: true}
}

// RequiresGrad reports whether gradients flow to v.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// Shape is v.Value.Shape.
func (v *Var) Shape() []int { return v.Value.Shape }

// Data is v.Value.Data.
func (v *Var) Data() []float32 { return v.Value.Data }

// Item returns the single value of a one-element Var.
func (v *Var) Item() float32 {
	if len(v.Value.Data) != 1 {
		panic(fmt.Sprintf("autodiff.Item: Var has shape %v, not one element", v.Value.Shape))
	}
	return v.Value.Data[0]
}

// ZeroGrad clears the gradient of a parameter.
func (v *Var) ZeroGrad() {
	if v.Grad != nil {
		v.Grad.Zero()
	}
}

// Tape records a forward computation for Backward and owns the intermediate buffers.
type Tape struct {
	// NoGrad, when true, records nothing: ops compute values only (evaluation, momentum encoders).
	NoGrad bool
	// KeepGrads keeps the gradients of intermediate values after Backward (for inspection);
	// by default they are released as soon as they have been propagated, and only inputs made
	// with Variable and parameters keep theirs.
	KeepGrads bool
	// FreeValues makes Backward hand each recorded value back to the tape's pool as soon as the
	// gradient has passed it (the loss's excepted), so that the gradients still to come reuse
	// those buffers: a step's peak memory is then about its activations, not its activations
	// plus the gradients of the widest layers. The values of the recorded Vars (every op output
	// that depends on a parameter) must then not be read after Backward; a training loop that
	// reads only the loss, before or after, can set it.
	FreeValues bool
	// SyncBN, when it is a communicator of several ranks, makes BatchNorm layers (nn.BatchNorm)
	// in training mode use SyncBatchNorm: statistics over the batches of every rank. The methods
	// of data-parallel training set it around their forward passes; nil keeps them per process.
	SyncBN dist.Comm

	nodes []*Var
	owned []*tensor.Tensor
	pool  tensor.Pool
	watch *paramWatch // set by WatchParams
}

// NewTape returns an empty tape.
func NewTape() *Tape { return &Tape{} }

// Constant enters t into the computation as a value that receives no gradient.
func (tp *Tape) Constant(t *tensor.Tensor) *Var { return &Var{Value: t, tape: tp} }

// Detach returns v's value as a constant on v's tape (stop-gradient).
func Detach(v *Var) *Var { return &Var{Value: v.Value, tape: v.tape} }

// Alloc returns a tensor from the tape's pool, released by Reset; zero clears it.
func (tp *Tape) Alloc(zero bool, shape ...int) *tensor.Tensor {
	t := tp.pool.Get(zero, shape...)
	tp.owned = append(tp.owned, t)
	return t
}

// Reset releases every intermediate value and gradient made since the last Reset. Vars made on
// this tape must not be used afterwards; parameters keep their values and gradients.
func (tp *Tape) Reset() {
	for _, t := range tp.owned {
		tp.pool.Put(t)
	}
	clear(tp.owned)
	tp.owned = tp.owned[:0]
	clear(tp.nodes)
	tp.nodes = tp.nodes[:0]
	if tp.watch != nil {
		tp.watch.reset()
	}
}

// Backward computes d(loss)/d(x) for every recorded x that requires a gradient. loss must have one
// element.
func (tp *Tape) Backward(loss *Var) {
	if loss.Value.Numel() != 1 {
		panic(fmt.Sprintf("autodiff.Backward: loss must have one element, has shape %v", loss.Value.Shape))
	}
	if !loss.requiresGrad {
		panic("autodiff.Backward: the loss does not depend on any parameter (all inputs constant or NoGrad)")
	}
	loss.GradBuf()[0] += 1
	if tp.watch != nil {
		tp.watch.start()
	}
	for i := len(tp.nodes) - 1; i >= 0; i-- {
		n := tp.nodes[i]
		if n.Grad != nil && n.backward != nil {
			n.backward()
			if !tp.KeepGrads && n != loss {
				// Every node that feeds n was recorded before it, so n's gradient is complete and
				// no longer needed: hand its buffer back so that the gradients still to come
				// reuse it (a step's peak memory is then the activations plus a few gradients).
				tp.pool.Put(n.Grad)
				n.Grad = nil
			}
		}
		if tp.FreeValues && n != loss && n.ownsValue {
			// Every op that reads n's value ran its backward already (it was recorded after n).
			tp.pool.Put(n.Value)
			n.ownsValue = false
		}
		if tp.watch != nil {
			tp.watch.passed(i)
		}
	}
	if tp.watch != nil {
		tp.watch.finish()
	}
}

// GradBuf returns v's gradient buffer, allocating a zero one on first use. Op implementations
// accumulate into it (+=) in their backward functions.
func (v *Var) GradBuf() []float32 {
	if v.Grad == nil {
		if v.tape != nil {
			v.Grad = v.tape.Alloc(true, v.Value.Shape...)
		} else {
			v.Grad = tensor.New(v.Value.Shape...)
		}
	}
	return v.Grad.Data
}

// GradFresh returns v's gradient buffer for an op's backward that will write every element. When
// v has no gradient yet the buffer comes from the pool uncleared and fresh is true: the caller
// must then store (=) into every element instead of accumulating (+=), which saves clearing and
// re-reading a buffer that is about to be overwritten. Otherwise it is GradBuf and fresh is false.
func (v *Var) GradFresh() (buf []float32, fresh bool) {
	if v.Grad == nil && v.tape != nil {
		v.Grad = v.tape.Alloc(false, v.Value.Shape...)
		return v.Grad.Data, true
	}
	return v.GradBuf(), false
}

// tapeOf finds the tape the inputs were recorded on.
func tapeOf(op string, inputs ...*Var) *Tape {
	var tp *Tape
	for _, in := range inputs {
		if in == nil {
			continue
		}
		if in.tape != nil {
			if tp != nil && tp != in.tape {
				panic(fmt.Sprintf("autodiff.%s: inputs come from different tapes", op))
			}
			tp = in.tape
		}
	}
	if tp == nil {
		panic(fmt.Sprintf("autodiff.%s: no input belongs to a tape; enter data with Tape.Constant", op))
	}
	return tp
}

// Node makes the output Var of an op: its value comes from the tape's pool (zeroed when zero is
// true); it requires a gradient when any input does and the tape records. Op implementations set
// the returned Var's backward with SetBackward only when out.RequiresGrad().
func Node(op string, zero bool, shape []int, inputs ...*Var) *Var {
	tp := tapeOf(op, inputs...)
	out := &Var{Value: tp.Alloc(zero, shape...), tape: tp, ownsValue: true}
	if !tp.NoGrad {
		for _, in := range inputs {
			if in != nil && in.requiresGrad {
				out.requiresGrad = true
				break
			}
		}
	}
	if out.requiresGrad {
		if tp.watch != nil {
			tp.watch.use(inputs, len(tp.nodes))
		}
		tp.nodes = append(tp.nodes, out)
	}
	return out
}

// SetBackward sets the function that, reading v.Grad, accumulates into the inputs' GradBuf.
// Inputs that do not require a gradient must be skipped by that function.
func (v *Var) SetBackward(fn func()) { v.backward = fn }

// Tape returns the tape v was recorded on (nil for parameters).
func (v *Var) Tape() *Tape { return v.tape }

// Variable enters t into the computation as a leaf that receives a gradient (buffer from the
// tape's pool, released by Reset). Gradient checks and inputs needing d(loss)/d(input) use it.
func (tp *Tape) Variable(t *tensor.Tensor) *Var {
	return &Var{Value: t, tape: tp, requiresGrad: !tp.NoGrad}
}
