// Package nn holds layers with parameters, named as PyTorch names them in a state_dict, so that a
// model saved here loads into the equivalent torch.nn model and back.
//
// A Module computes Forward on autodiff Vars and exposes its trainable parameters (autodiff.Param
// leaves whose Name is the full state_dict key) and its buffers (BatchNorm running statistics).
// Containers name their children: Sequential numbers them "0", "1", ...; Name(m, "encoder")
// prefixes every key, so keys come out as "encoder.0.weight". Initialisation follows PyTorch's
// defaults, drawn from a caller's seeded math/rand/v2 generator.
//
//	rng := rand.New(rand.NewPCG(1, 2))
//	enc := nn.Name(nn.NewSequential(nn.NewLinear(rng, 784, 128, true), nn.ReLU{}), "encoder")
//	h := enc.Forward(tp.Constant(x)) // params: encoder.0.weight, encoder.0.bias
package nn

import (
	"strconv"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// Module is a layer or a container of layers.
type Module interface {
	// Forward computes the layer's output; x must belong to a tape.
	Forward(x *autodiff.Var) *autodiff.Var
	// Params returns every trainable parameter, own then children's, in PyTorch's
	// named_parameters order.
	Params() []*autodiff.Var
	// Buffers returns every non-trainable state tensor in PyTorch's named_buffers order.
	Buffers() []*Buffer
	// SetTraining switches training behaviour (BatchNorm batch statistics) on or off.
	SetTraining(training bool)
	// SetPrefix renames every parameter and buffer to prefix + "." + its local key (the local key
	// alone when prefix is empty). Containers pass prefix + "." + child name to their children.
	SetPrefix(prefix string)
}

// Buffer is a named non-trainable tensor of a module's state (running_mean, running_var,
// num_batches_tracked).
type Buffer struct {
	Name  string
	Value *tensor.Tensor
	// Int marks buffers PyTorch stores as integers (num_batches_tracked): saved as I64.
	Int bool
}

// Name sets the key prefix of every parameter and buffer of m and returns m.
func Name[M Module](m M, prefix string) M {
	m.SetPrefix(prefix)
	return m
}

// Join returns prefix + "." + name, or name when prefix is empty.
func Join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// NumParams returns the number of trainable scalars of m.
func NumParams(m Module) int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value.Numel()
	}
	return n
}

// ZeroGrad clears the gradients of every parameter of m.
func ZeroGrad(m Module) {
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
}

// Sequential applies its layers in order; their keys are their indices ("0", "1", ...), as in
// torch.nn.Sequential.
type Sequential struct {
	Layers []Module
}

// NewSequential returns a Sequential of layers, named "0", "1", ....
func NewSequential(layers ...Module) *Sequential {
	s := &Sequential{Layers: layers}
	s.SetPrefix("")
	return s
}

// Forward applies each layer to the previous one's output. A BatchNorm directly followed by a
// ReLU runs as one fused op (same result, less memory traffic).
func (s *Sequential) Forward(x *autodiff.Var) *autodiff.Var {
	for i := 0; i < len(s.Layers); i++ {
		if bn, ok := s.Layers[i].(*BatchNorm); ok && i+1 < len(s.Layers) {
			if _, ok := s.Layers[i+1].(ReLU); ok {
				x = bn.ForwardReLU(x)
				i++
				continue
			}
		}
		x = s.Layers[i].Forward(x)
	}
	return x
}

// Params returns the layers' parameters in order.
func (s *Sequential) Params() []*autodiff.Var {
	var ps []*autodiff.Var
	for _, l := range s.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Buffers returns the layers' buffers in order.
func (s *Sequential) Buffers() []*Buffer {
	var bs []*Buffer
	for _, l := range s.Layers {
		bs = append(bs, l.Buffers()...)
	}
	return bs
}

// SetTraining sets every layer's mode.
func (s *Sequential) SetTraining(training bool) {
	for _, l := range s.Layers {
		l.SetTraining(training)
	}
}

// SetPrefix names layer i prefix.i.
func (s *Sequential) SetPrefix(prefix string) {
	for i, l := range s.Layers {
		l.SetPrefix(Join(prefix, strconv.Itoa(i)))
	}
}

// stateless provides the Module methods of layers without parameters or buffers.
type stateless struct{}

// Params returns nil.
func (stateless) Params() []*autodiff.Var { return nil }

// Buffers returns nil.
func (stateless) Buffers() []*Buffer { return nil }

// SetTraining does nothing.
func (stateless) SetTraining(bool) {}

// SetPrefix does nothing.
func (stateless) SetPrefix(string) {}

// Identity returns its input (torch.nn.Identity).
type Identity struct{ stateless }

// Forward returns x.
func (Identity) Forward(x *autodiff.Var) *autodiff.Var { return x }

// ReLU is max(x, 0) (torch.nn.ReLU).
type ReLU struct{ stateless }

// Forward applies ReLU.
func (ReLU) Forward(x *autodiff.Var) *autodiff.Var { return autodiff.ReLU(x) }

// GELU is the exact (erf) Gaussian error linear unit (torch.nn.GELU).
type GELU struct{ stateless }

// Forward applies GELU.
func (GELU) Forward(x *autodiff.Var) *autodiff.Var { return autodiff.GELU(x) }

// Flatten reshapes [N, ...] to [N, rest] (torch.nn.Flatten).
type Flatten struct{ stateless }

// Forward flattens every dimension after the first.
func (Flatten) Forward(x *autodiff.Var) *autodiff.Var {
	return autodiff.Reshape(x, x.Shape()[0], -1)
}

// Func wraps a parameter-free function of a Var as a Module.
type Func struct {
	stateless
	F func(x *autodiff.Var) *autodiff.Var
}

// Forward applies F.
func (f Func) Forward(x *autodiff.Var) *autodiff.Var { return f.F(x) }
