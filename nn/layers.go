package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// KaimingUniform fills t from U(−bound, bound) with bound = gain·√(3/fanIn), gain = √(2/(1+a²))
// (torch.nn.init.kaiming_uniform_ with a leaky-ReLU slope a). PyTorch's default Conv2d and Linear
// weight init uses a = √5, which gives bound = 1/√fanIn.
func KaimingUniform(rng *rand.Rand, t *tensor.Tensor, fanIn int, a float64) {
	gain := math.Sqrt(2 / (1 + a*a))
	Uniform(rng, t, gain*math.Sqrt(3/float64(fanIn)))
}

// KaimingNormalFanOut fills t from N(0, 2/fanOut) (kaiming_normal_(mode="fan_out",
// nonlinearity="relu"), torchvision's ResNet convolution init).
func KaimingNormalFanOut(rng *rand.Rand, t *tensor.Tensor, fanOut int) {
	std := math.Sqrt(2 / float64(fanOut))
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64() * std)
	}
}

// Uniform fills t from U(−bound, bound).
func Uniform(rng *rand.Rand, t *tensor.Tensor, bound float64) {
	for i := range t.Data {
		t.Data[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// named returns a parameter named name wrapping a new tensor of the given shape.
func named(name string, shape ...int) *autodiff.Var {
	p := autodiff.Param(tensor.New(shape...))
	p.Name = name
	return p
}

// Conv2d is torch.nn.Conv2d with a square kernel, equal stride and padding on both axes, no
// dilation and one group. Keys: weight [Cout,Cin,k,k], bias [Cout] (when present).
type Conv2d struct {
	In, Out, Kernel, Stride, Pad int
	Weight, Bias                 *autodiff.Var // Bias is nil without bias
}

// NewConv2d returns a convolution with PyTorch's default init: weight and bias from
// U(−1/√fanIn, 1/√fanIn), fanIn = in·k·k.
func NewConv2d(rng *rand.Rand, in, out, kernel, stride, pad int, bias bool) *Conv2d {
	if in < 1 || out < 1 || kernel < 1 || stride < 1 || pad < 0 {
		panic(fmt.Sprintf("nn.NewConv2d: invalid in=%d out=%d kernel=%d stride=%d pad=%d", in, out, kernel, stride, pad))
	}
	c := &Conv2d{In: in, Out: out, Kernel: kernel, Stride: stride, Pad: pad, Weight: named("weight", out, in, kernel, kernel)}
	fanIn := in * kernel * kernel
	KaimingUniform(rng, c.Weight.Value, fanIn, math.Sqrt(5))
	if bias {
		c.Bias = named("bias", out)
		Uniform(rng, c.Bias.Value, 1/math.Sqrt(float64(fanIn)))
	}
	return c
}

// Forward convolves x [N,In,H,W] into [N,Out,Ho,Wo].
func (c *Conv2d) Forward(x *autodiff.Var) *autodiff.Var {
	return autodiff.Conv2d(x, c.Weight, c.Bias, c.Stride, c.Pad)
}

// Params returns weight and, when present, bias.
func (c *Conv2d) Params() []*autodiff.Var { return weightBias(c.Weight, c.Bias) }

// Buffers returns nil.
func (c *Conv2d) Buffers() []*Buffer { return nil }

// SetTraining does nothing.
func (c *Conv2d) SetTraining(bool) {}

// SetPrefix names weight and bias.
func (c *Conv2d) SetPrefix(prefix string) { nameWeightBias(prefix, c.Weight, c.Bias) }

// Linear is torch.nn.Linear: y = x·Wᵀ + b. Keys: weight [Out,In], bias [Out] (when present).
type Linear struct {
	In, Out      int
	Weight, Bias *autodiff.Var // Bias is nil without bias
}

// NewLinear returns a linear layer with PyTorch's default init: weight and bias from
// U(−1/√in, 1/√in).
func NewLinear(rng *rand.Rand, in, out int, bias bool) *Linear {
	if in < 1 || out < 1 {
		panic(fmt.Sprintf("nn.NewLinear: invalid in=%d out=%d", in, out))
	}
	l := &Linear{In: in, Out: out, Weight: named("weight", out, in)}
	KaimingUniform(rng, l.Weight.Value, in, math.Sqrt(5))
	if bias {
		l.Bias = named("bias", out)
		Uniform(rng, l.Bias.Value, 1/math.Sqrt(float64(in)))
	}
	return l
}

// Forward maps x [N,In] to [N,Out].
func (l *Linear) Forward(x *autodiff.Var) *autodiff.Var { return autodiff.Linear(x, l.Weight, l.Bias) }

// Params returns weight and, when present, bias.
func (l *Linear) Params() []*autodiff.Var { return weightBias(l.Weight, l.Bias) }

// Buffers returns nil.
func (l *Linear) Buffers() []*Buffer { return nil }

// SetTraining does nothing.
func (l *Linear) SetTraining(bool) {}

// SetPrefix names weight and bias.
func (l *Linear) SetPrefix(prefix string) { nameWeightBias(prefix, l.Weight, l.Bias) }

func weightBias(w, b *autodiff.Var) []*autodiff.Var {
	var ps []*autodiff.Var
	if w != nil {
		ps = append(ps, w)
	}
	if b != nil {
		ps = append(ps, b)
	}
	return ps
}

func nameWeightBias(prefix string, w, b *autodiff.Var) {
	if w != nil {
		w.Name = Join(prefix, "weight")
	}
	if b != nil {
		b.Name = Join(prefix, "bias")
	}
}

// BatchNorm is torch.nn.BatchNorm1d (x [N,C]) or BatchNorm2d (x [N,C,H,W]) with affine
// parameters and running statistics. Keys: weight, bias (when affine), running_mean,
// running_var, num_batches_tracked. Training mode normalises with the batch statistics and
// updates the running ones (momentum 0.1, unbiased variance); evaluation mode uses the running
// statistics. In training mode on a tape whose SyncBN communicator has several ranks, the
// statistics are those of every rank's batch together (autodiff.SyncBatchNorm).
type BatchNorm struct {
	C        int
	Rank     int // 2 for BatchNorm1d, 4 for BatchNorm2d
	Momentum float32
	Eps      float32
	Weight   *autodiff.Var // γ, nil when not affine
	Bias     *autodiff.Var // β, nil when not affine
	Mean     *Buffer       // running_mean [C], starts at 0
	Var      *Buffer       // running_var [C], starts at 1
	Tracked  *Buffer       // num_batches_tracked [], counts training batches
	Training bool
}

// NewBatchNorm1d returns BatchNorm over [N,C] features: γ = 1, β = 0, eps 1e-5, momentum 0.1,
// in training mode.
func NewBatchNorm1d(c int) *BatchNorm { return newBatchNorm(c, 2, true) }

// NewBatchNorm2d returns BatchNorm over the channels of [N,C,H,W].
func NewBatchNorm2d(c int) *BatchNorm { return newBatchNorm(c, 4, true) }

// NewBatchNorm1dNoAffine returns BatchNorm1d without γ and β (affine=False).
func NewBatchNorm1dNoAffine(c int) *BatchNorm { return newBatchNorm(c, 2, false) }

func newBatchNorm(c, rank int, affine bool) *BatchNorm {
	if c < 1 {
		panic(fmt.Sprintf("nn.BatchNorm: invalid channel count %d", c))
	}
	b := &BatchNorm{
		C: c, Rank: rank, Momentum: 0.1, Eps: 1e-5, Training: true,
		Mean:    &Buffer{Value: tensor.New(c)},
		Var:     &Buffer{Value: tensor.New(c)},
		Tracked: &Buffer{Value: tensor.New(), Int: true},
	}
	b.Var.Value.Fill(1)
	if affine {
		b.Weight, b.Bias = named("weight", c), named("bias", c)
		b.Weight.Value.Fill(1)
	}
	b.SetPrefix("")
	return b
}

// Forward normalises x; in training mode it also updates the running statistics.
func (b *BatchNorm) Forward(x *autodiff.Var) *autodiff.Var { return b.forward(x, false) }

// ForwardReLU is ReLU(Forward(x)) as one fused op (Sequential uses it for a BatchNorm followed by
// a ReLU).
func (b *BatchNorm) ForwardReLU(x *autodiff.Var) *autodiff.Var { return b.forward(x, true) }

// ForwardAddReLU is ReLU(Forward(x) + short) as one fused op (a residual block's end): the same
// values and gradients, without storing the normalised tensor. Under synchronised BatchNorm it
// is the two ops.
func (b *BatchNorm) ForwardAddReLU(x, short *autodiff.Var) *autodiff.Var {
	if tp := x.Tape(); b.Rank != 4 || (tp != nil && tp.SyncBN != nil && tp.SyncBN.Size() > 1 && b.Training) {
		return autodiff.AddReLU(b.forward(x, false), short)
	}
	b.check(x)
	y := autodiff.BatchNormAddReLU(x, b.Weight, b.Bias, b.Mean.Value, b.Var.Value, b.Training, b.Momentum, b.Eps, short)
	if b.Training {
		b.Tracked.Value.Data[0]++
	}
	return y
}

// check panics with one sentence when x is not [N,C] (BatchNorm1d) or [N,C,H,W] (BatchNorm2d).
func (b *BatchNorm) check(x *autodiff.Var) {
	if s := x.Shape(); len(s) != b.Rank || s[1] != b.C {
		kind := map[int]string{2: "BatchNorm1d: x must be [N,%d]", 4: "BatchNorm2d: x must be [N,%d,H,W]"}[b.Rank]
		panic(fmt.Sprintf("nn."+kind+", got %v", b.C, s))
	}
}

func (b *BatchNorm) forward(x *autodiff.Var, relu bool) *autodiff.Var {
	b.check(x)
	var y *autodiff.Var
	if tp := x.Tape(); tp != nil && tp.SyncBN != nil && tp.SyncBN.Size() > 1 && b.Training {
		c := tp.SyncBN
		op := autodiff.SyncBatchNorm
		if relu {
			op = autodiff.SyncBatchNormReLU
		}
		y = op(c, x, b.Weight, b.Bias, b.Mean.Value, b.Var.Value, b.Training, b.Momentum, b.Eps)
	} else {
		op := autodiff.BatchNorm
		if relu {
			op = autodiff.BatchNormReLU
		}
		y = op(x, b.Weight, b.Bias, b.Mean.Value, b.Var.Value, b.Training, b.Momentum, b.Eps)
	}
	if b.Training {
		b.Tracked.Value.Data[0]++
	}
	return y
}

// Params returns weight and bias (none when not affine).
func (b *BatchNorm) Params() []*autodiff.Var { return weightBias(b.Weight, b.Bias) }

// Buffers returns running_mean, running_var and num_batches_tracked.
func (b *BatchNorm) Buffers() []*Buffer { return []*Buffer{b.Mean, b.Var, b.Tracked} }

// SetTraining selects batch (true) or running (false) statistics.
func (b *BatchNorm) SetTraining(training bool) { b.Training = training }

// SetPrefix names the parameters and buffers.
func (b *BatchNorm) SetPrefix(prefix string) {
	nameWeightBias(prefix, b.Weight, b.Bias)
	b.Mean.Name = Join(prefix, "running_mean")
	b.Var.Name = Join(prefix, "running_var")
	b.Tracked.Name = Join(prefix, "num_batches_tracked")
}
