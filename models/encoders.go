package models

import (
	"fmt"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/nn"
)

// DefaultPoolGrid is small-cnn's default pooling grid: the last feature map average-pooled to
// 7×7 and flattened, the default recipe's features (for 28-px images that is the 128×7×7 map
// itself, 6272-d). README: +3.4 points kNN for 2×2 over a global pool, +2 more for 4×4 and about
// +1 more for 7×7, which alone reaches kNN 0.85 within 20 minutes.
const DefaultPoolGrid = 7

// smallCNNHidden is small-cnn's default projection-head hidden width (the recipe's).
const smallCNNHidden = 512

// SmallCNN configures the small convolutional encoder — the reference CNN of DESIGN.md and the
// default recipe are two settings of it: for each i, a 3×3 convolution (Channels[i] filters,
// Strides[i], padding 1, no bias) → BatchNorm2d → ReLU; then the features h:
//
//	PoolGrid 1:          global average pool, h has Channels[last] values (the reference);
//	PoolGrid g > 1 (0):  adaptive average pool to g×g, flattened: Channels[last]·g² values
//	                     (default g = 4, the recipe).
//
// The layers form one nn.Sequential, so keys are "0.weight", "1.running_mean", ..., exactly those
// of torch_ref.py's Reference.encoder (pooling at index 3·len(Channels), Flatten after it).
type SmallCNN struct {
	InChannels int   // input channels (default 1)
	Channels   []int // default [32, 64, 128]
	Strides    []int // default [1, 2, 2]; must match Channels in length
	PoolGrid   int   // 1 = global average pool; default DefaultPoolGrid
}

// NewSmallCNN builds the encoder and returns it with its feature dimension.
func NewSmallCNN(rng *rand.Rand, o SmallCNN) (*nn.Sequential, int, error) {
	if o.InChannels == 0 {
		o.InChannels = 1
	}
	if o.Channels == nil {
		o.Channels = []int{32, 64, 128}
	}
	if o.Strides == nil {
		o.Strides = []int{1, 2, 2}
	}
	if o.PoolGrid == 0 {
		o.PoolGrid = DefaultPoolGrid
	}
	if len(o.Channels) == 0 || len(o.Channels) != len(o.Strides) {
		return nil, 0, fmt.Errorf("small-cnn: need as many strides as channels, got channels %v and strides %v", o.Channels, o.Strides)
	}
	if err := positive("small-cnn", map[string][]int{"in_channels": {o.InChannels}, "channels": o.Channels, "strides": o.Strides, "pool_grid": {o.PoolGrid}}); err != nil {
		return nil, 0, err
	}
	var layers []nn.Module
	in := o.InChannels
	for i, c := range o.Channels {
		layers = append(layers, nn.NewConv2d(rng, in, c, 3, o.Strides[i], 1, false), nn.NewBatchNorm2d(c), nn.ReLU{})
		in = c
	}
	dim := in
	if o.PoolGrid == 1 {
		layers = append(layers, nn.GlobalAvgPool{}, nn.Flatten{})
	} else {
		layers = append(layers, nn.AdaptiveAvgPool2d{Out: o.PoolGrid}, nn.Flatten{})
		dim *= o.PoolGrid * o.PoolGrid
	}
	return nn.NewSequential(layers...), dim, nil
}

// NewMLP builds an encoder for vectors of inputDim values: for each width w in hidden,
// Linear(·, w, no bias) → BatchNorm1d(w) → ReLU (the bias is redundant before BatchNorm). Keys:
// "0.weight", "1.weight", "1.running_mean", ..., "3.weight", .... It returns the encoder and its
// feature dimension (the last width).
func NewMLP(rng *rand.Rand, inputDim int, hidden []int) (*nn.Sequential, int, error) {
	if len(hidden) == 0 {
		return nil, 0, fmt.Errorf("mlp: need at least one hidden width")
	}
	if err := positive("mlp", map[string][]int{"input_dim": {inputDim}, "hidden": hidden}); err != nil {
		return nil, 0, err
	}
	var layers []nn.Module
	in := inputDim
	for _, w := range hidden {
		layers = append(layers, nn.NewLinear(rng, in, w, false), nn.NewBatchNorm1d(w), nn.ReLU{})
		in = w
	}
	return nn.NewSequential(layers...), in, nil
}

// Head kinds accepted by NewHead.
const (
	HeadMLP2   = "mlp2"    // Linear → ReLU → Linear (the reference; SimCLR v1)
	HeadMLP2BN = "mlp2-bn" // Linear → BN → ReLU → Linear (BYOL projector, BYOL/SimSiam predictor)
	HeadMLP3BN = "mlp3-bn" // Linear → BN → ReLU → Linear → BN → ReLU → Linear (SimCLR v2, SimSiam)
	HeadLinear = "linear"  // Linear
	HeadNone   = "none"    // Identity: z = h
)

// HeadKinds lists the valid head kinds.
var HeadKinds = []string{HeadLinear, HeadMLP2, HeadMLP2BN, HeadMLP3BN, HeadNone}

// NewHead builds a projection or prediction head from in to out features with hidden width
// hidden. Linear layers followed by BatchNorm have no bias (as lightly's heads). finalBN appends
// BatchNorm1d(out) after the last Linear (SimCLR v2 / SimSiam projector), which then has no bias.
// It returns the head and its output dimension (in for "none").
func NewHead(rng *rand.Rand, kind string, in, hidden, out int, finalBN bool) (*nn.Sequential, int, error) {
	if kind == HeadNone {
		return nn.NewSequential(nn.Identity{}), in, nil
	}
	if err := positive("head "+kind, map[string][]int{"in": {in}, "hidden": {hidden}, "out": {out}}); err != nil {
		return nil, 0, err
	}
	block := func(a, b int) []nn.Module {
		return []nn.Module{nn.NewLinear(rng, a, b, false), nn.NewBatchNorm1d(b), nn.ReLU{}}
	}
	var layers []nn.Module
	switch kind {
	case HeadMLP2:
		layers = []nn.Module{nn.NewLinear(rng, in, hidden, true), nn.ReLU{}}
	case HeadMLP2BN:
		layers = block(in, hidden)
	case HeadMLP3BN:
		layers = append(block(in, hidden), block(hidden, hidden)...)
	case HeadLinear:
		hidden = in
	default:
		return nil, 0, fmt.Errorf("unknown head kind %q (valid: %v)", kind, HeadKinds)
	}
	layers = append(layers, nn.NewLinear(rng, hidden, out, !finalBN))
	if finalBN {
		layers = append(layers, nn.NewBatchNorm1d(out))
	}
	return nn.NewSequential(layers...), out, nil
}

// positive checks every value of each named list is ≥ 1.
func positive(what string, lists map[string][]int) error {
	for name, l := range lists {
		for _, v := range l {
			if v < 1 {
				return fmt.Errorf("%s: %s must be positive, got %v", what, name, l)
			}
		}
	}
	return nil
}
