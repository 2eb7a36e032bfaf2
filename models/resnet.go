package models

import (
	"fmt"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/nn"
)

// ResNetOptions configures ResNet-18.
type ResNetOptions struct {
	InChannels int   // input channels (default 3)
	CIFARStem  bool  // 3×3 stride-1 conv1 and no max pool, instead of 7×7 stride 2 + max pool
	Widths     []int // widths of layer1..layer4 (default [64, 128, 256, 512])
	NumClasses int   // > 0 adds torchvision's fc layer; 0 leaves it out (features are h)
}

// ResNet is torchvision's ResNet-18 (BasicBlock, [2, 2, 2, 2]) with torchvision's keys: conv1,
// bn1, layer1.0.conv1, layer1.0.bn1, ..., layer2.0.downsample.0/1, fc. Convolutions are
// initialised with kaiming_normal_(mode="fan_out"), BatchNorm with γ = 1, β = 0, fc with
// PyTorch's Linear default, as torchvision does.
type ResNet struct {
	Conv1   *nn.Conv2d
	BN1     *nn.BatchNorm
	MaxPool nn.Module // nil with the CIFAR stem
	Layers  [4]*nn.Sequential
	FC      *nn.Linear // nil without classes
	// FeatureDim is the width of the pooled features (Widths[3]).
	FeatureDim int
}

// NewResNet18 builds ResNet-18.
func NewResNet18(rng *rand.Rand, o ResNetOptions) (*ResNet, error) {
	if o.InChannels == 0 {
		o.InChannels = 3
	}
	if o.Widths == nil {
		o.Widths = []int{64, 128, 256, 512}
	}
	if len(o.Widths) != 4 {
		return nil, fmt.Errorf("resnet18: need 4 widths, got %v", o.Widths)
	}
	if err := positive("resnet18", map[string][]int{"in_channels": {o.InChannels}, "widths": o.Widths}); err != nil {
		return nil, err
	}
	if o.NumClasses < 0 {
		return nil, fmt.Errorf("resnet18: negative class count %d", o.NumClasses)
	}
	r := &ResNet{FeatureDim: o.Widths[3]}
	if o.CIFARStem {
		r.Conv1 = nn.NewConv2d(rng, o.InChannels, o.Widths[0], 3, 1, 1, false)
	} else {
		r.Conv1 = nn.NewConv2d(rng, o.InChannels, o.Widths[0], 7, 2, 3, false)
		r.MaxPool = nn.MaxPool2d{Kernel: 3, Stride: 2, Pad: 1}
	}
	r.BN1 = nn.NewBatchNorm2d(o.Widths[0])
	in := o.Widths[0]
	for i, w := range o.Widths {
		stride := 2
		if i == 0 {
			stride = 1
		}
		r.Layers[i] = nn.NewSequential(newBasicBlock(rng, in, w, stride), newBasicBlock(rng, w, w, 1))
		in = w
	}
	if o.NumClasses > 0 {
		r.FC = nn.NewLinear(rng, in, o.NumClasses, true)
	}
	for _, p := range r.Params() {
		if s := p.Shape(); len(s) == 4 {
			nn.KaimingNormalFanOut(rng, p.Value, s[0]*s[2]*s[3])
		}
	}
	r.SetPrefix("")
	return r, nil
}

// Forward maps x [N,C,H,W] to features [N,FeatureDim] (or logits [N,NumClasses] with fc).
func (r *ResNet) Forward(x *autodiff.Var) *autodiff.Var {
	x = r.BN1.ForwardReLU(r.Conv1.Forward(x))
	if r.MaxPool != nil {
		x = r.MaxPool.Forward(x)
	}
	for _, l := range r.Layers {
		x = l.Forward(x)
	}
	x = autodiff.GlobalAvgPool(x)
	if r.FC != nil {
		x = r.FC.Forward(x)
	}
	return x
}

// children lists the named submodules in torchvision's order.
func (r *ResNet) children() ([]string, []nn.Module) {
	names := []string{"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"}
	mods := []nn.Module{r.Conv1, r.BN1, r.Layers[0], r.Layers[1], r.Layers[2], r.Layers[3]}
	if r.FC != nil {
		names, mods = append(names, "fc"), append(mods, r.FC)
	}
	return names, mods
}

// Params returns the parameters in torchvision's order.
func (r *ResNet) Params() []*autodiff.Var {
	_, mods := r.children()
	return collectParams(mods...)
}

// Buffers returns the BatchNorm buffers in torchvision's order.
func (r *ResNet) Buffers() []*nn.Buffer {
	_, mods := r.children()
	return collectBuffers(mods...)
}

// SetTraining sets every BatchNorm's mode.
func (r *ResNet) SetTraining(training bool) {
	_, mods := r.children()
	for _, m := range mods {
		m.SetTraining(training)
	}
}

// SetPrefix names the children conv1, bn1, layer1, ..., fc under prefix.
func (r *ResNet) SetPrefix(prefix string) {
	names, mods := r.children()
	for i, m := range mods {
		m.SetPrefix(nn.Join(prefix, names[i]))
	}
}

// BasicBlock is torchvision's residual block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
// where the shortcut is the identity or downsample = 1×1 conv (stride) → BatchNorm.
type BasicBlock struct {
	Conv1, Conv2 *nn.Conv2d
	BN1, BN2     *nn.BatchNorm
	Downsample   *nn.Sequential // nil when the shapes already agree
}

func newBasicBlock(rng *rand.Rand, in, out, stride int) *BasicBlock {
	b := &BasicBlock{
		Conv1: nn.NewConv2d(rng, in, out, 3, stride, 1, false), BN1: nn.NewBatchNorm2d(out),
		Conv2: nn.NewConv2d(rng, out, out, 3, 1, 1, false), BN2: nn.NewBatchNorm2d(out),
	}
	if stride != 1 || in != out {
		b.Downsample = nn.NewSequential(nn.NewConv2d(rng, in, out, 1, stride, 0, false), nn.NewBatchNorm2d(out))
	}
	return b
}

// Forward applies the block.
func (b *BasicBlock) Forward(x *autodiff.Var) *autodiff.Var {
	// BatchNorm+ReLU and BatchNorm+shortcut sum+ReLU are fused ops: two activations fewer per
	// block to keep for the backward pass (and their passes over memory), the same values.
	y := b.Conv2.Forward(b.BN1.ForwardReLU(b.Conv1.Forward(x)))
	short := x
	if b.Downsample != nil {
		short = b.Downsample.Forward(x)
	}
	return b.BN2.ForwardAddReLU(y, short)
}

func (b *BasicBlock) children() ([]string, []nn.Module) {
	names := []string{"conv1", "bn1", "conv2", "bn2"}
	mods := []nn.Module{b.Conv1, b.BN1, b.Conv2, b.BN2}
	if b.Downsample != nil {
		names, mods = append(names, "downsample"), append(mods, b.Downsample)
	}
	return names, mods
}

// Params returns the block's parameters in torchvision's order.
func (b *BasicBlock) Params() []*autodiff.Var {
	_, mods := b.children()
	return collectParams(mods...)
}

// Buffers returns the block's BatchNorm buffers.
func (b *BasicBlock) Buffers() []*nn.Buffer {
	_, mods := b.children()
	return collectBuffers(mods...)
}

// SetTraining sets the BatchNorm modes.
func (b *BasicBlock) SetTraining(training bool) {
	_, mods := b.children()
	for _, m := range mods {
		m.SetTraining(training)
	}
}

// SetPrefix names conv1, bn1, conv2, bn2, downsample under prefix.
func (b *BasicBlock) SetPrefix(prefix string) {
	names, mods := b.children()
	for i, m := range mods {
		m.SetPrefix(nn.Join(prefix, names[i]))
	}
}

func collectParams(mods ...nn.Module) []*autodiff.Var {
	var ps []*autodiff.Var
	for _, m := range mods {
		if m != nil {
			ps = append(ps, m.Params()...)
		}
	}
	return ps
}

func collectBuffers(mods ...nn.Module) []*nn.Buffer {
	var bs []*nn.Buffer
	for _, m := range mods {
		if m != nil {
			bs = append(bs, m.Buffers()...)
		}
	}
	return bs
}
