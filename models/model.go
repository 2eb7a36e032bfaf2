// Package models holds the encoders (the reference CNN and its variants, ResNet-18, an MLP for
// vectors) and heads (projection, prediction) of contrastive learning, and Model, which combines
// them: h = Encode(x) is the representation evaluated downstream, z = Project(h) feeds the loss,
// and an optional predictor p = Predict(z) serves BYOL and SimSiam.
//
// A Model's state_dict keys are "encoder.…", "head.…" and "predictor.…", with PyTorch's (and
// torchvision's) names inside, so the reference model's keys equal those of
// bench/torch_ref.py's Reference and its weights load there unchanged.
//
//	m, err := models.Build(models.Reference(), 42)
//	h := m.Encode(tp.Constant(images)) // [N,128]
//	z := m.Project(h)                  // [N,64]
package models

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/nn"
	"github.com/contrastive-go/contrastive/safetensors"
)

// Encoder names accepted by Build.
const (
	SmallCNNName      = "small-cnn"      // the small CNN: the default recipe by default, Reference() for DESIGN.md's CNN
	ResNet18Name      = "resnet18"       // ImageNet stem: 7×7 stride-2 conv + max pool
	ResNet18CIFARName = "resnet18-cifar" // CIFAR stem: 3×3 stride-1 conv, no max pool
	MLPName           = "mlp"            // Linear → BN → ReLU blocks for vectors
)

// EncoderNames lists the valid Config.Name values.
var EncoderNames = []string{MLPName, ResNet18Name, ResNet18CIFARName, SmallCNNName}

// Config describes a Model; it round-trips through JSON and Build fills its defaults.
type Config struct {
	// Name is the encoder: "small-cnn", "resnet18", "resnet18-cifar" or "mlp".
	Name string `json:"name"`
	// InChannels is the number of image channels (default 1 for small-cnn, 3 for ResNet).
	InChannels int `json:"in_channels,omitempty"`
	// Channels are small-cnn's widths (default [32,64,128]) or ResNet's four layer widths
	// (default [64,128,256,512]).
	Channels []int `json:"channels,omitempty"`
	// Strides are small-cnn's convolution strides (default [1,2,2]).
	Strides []int `json:"strides,omitempty"`
	// PoolGrid selects small-cnn's features: 1 global average pool, g > 1 adaptive pool to g×g
	// then flatten (default DefaultPoolGrid, 7).
	PoolGrid int `json:"pool_grid,omitempty"`
	// InputDim is the mlp encoder's input length.
	InputDim int `json:"input_dim,omitempty"`
	// Hidden are the mlp encoder's widths (default [512,128]).
	Hidden []int `json:"hidden,omitempty"`
	// Head is the projection head (default mlp2; hidden width 512 for small-cnn, the width of h
	// otherwise: for small-cnn's defaults 6272→512→128, the recipe; Reference() sets the
	// reference's 128→128→64).
	Head HeadConfig `json:"head"`
	// Predictor, when set, adds a prediction head on z (BYOL, SimSiam).
	Predictor *HeadConfig `json:"predictor,omitempty"`
}

// HeadConfig describes a projection or prediction head (see NewHead).
type HeadConfig struct {
	// Kind is "mlp2" (default for a projection head), "mlp2-bn" (default for a predictor),
	// "mlp3-bn", "linear" or "none".
	Kind string `json:"kind,omitempty"`
	// Hidden is the hidden width (default: the input width).
	Hidden int `json:"hidden,omitempty"`
	// Out is the output width (default 128 for small-cnn and ResNet, 64 for mlp; a predictor's
	// default is its input width).
	Out int `json:"out,omitempty"`
	// FinalBN appends BatchNorm1d to the head's output.
	FinalBN bool `json:"final_bn,omitempty"`
}

// Reference returns the configuration of DESIGN.md's reference model (117,664 parameters).
func Reference() Config {
	return Config{
		Name: SmallCNNName, InChannels: 1, Channels: []int{32, 64, 128}, Strides: []int{1, 2, 2}, PoolGrid: 1,
		Head: HeadConfig{Kind: HeadMLP2, Hidden: 128, Out: 64},
	}
}

// Model is an encoder with a projection head and an optional predictor. It is an nn.Module whose
// Forward is Project(Encode(x)).
type Model struct {
	// Config is the configuration with every default filled in.
	Config    Config
	Encoder   nn.Module
	Head      nn.Module
	Predictor nn.Module // nil without a predictor
	// FeatureDim is the width of h, ProjDim the width of z.
	FeatureDim, ProjDim int

	training bool
}

// Build constructs the model cfg describes, initialised from seed.
func Build(cfg Config, seed uint64) (*Model, error) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	m := &Model{training: true}
	if err := checkApplicable(cfg); err != nil {
		return nil, err
	}
	var err error
	defOut, defHidden := 64, 0 // defHidden 0: the width of h
	switch cfg.Name {
	case SmallCNNName:
		defOut, defHidden = 128, smallCNNHidden
		o := SmallCNN{InChannels: cfg.InChannels, Channels: cfg.Channels, Strides: cfg.Strides, PoolGrid: cfg.PoolGrid}
		m.Encoder, m.FeatureDim, err = NewSmallCNN(rng, o)
		if err == nil {
			cfg.InChannels, cfg.Channels, cfg.Strides, cfg.PoolGrid = cmp.Or(cfg.InChannels, 1), orInts(cfg.Channels, 32, 64, 128), orInts(cfg.Strides, 1, 2, 2), cmp.Or(cfg.PoolGrid, DefaultPoolGrid)
		}
	case ResNet18Name, ResNet18CIFARName:
		defOut = 128
		cfg.InChannels, cfg.Channels = cmp.Or(cfg.InChannels, 3), orInts(cfg.Channels, 64, 128, 256, 512)
		var r *ResNet
		r, err = NewResNet18(rng, ResNetOptions{InChannels: cfg.InChannels, CIFARStem: cfg.Name == ResNet18CIFARName, Widths: cfg.Channels})
		if err == nil {
			m.Encoder, m.FeatureDim = r, r.FeatureDim
		}
	case MLPName:
		cfg.Hidden = orInts(cfg.Hidden, 512, 128)
		m.Encoder, m.FeatureDim, err = NewMLP(rng, cfg.InputDim, cfg.Hidden)
	default:
		return nil, fmt.Errorf("unknown encoder %q (valid: %v)", cfg.Name, EncoderNames)
	}
	if err != nil {
		return nil, err
	}
	h := &cfg.Head
	h.Kind = cmp.Or(h.Kind, HeadMLP2)
	h.Hidden, h.Out = cmp.Or(h.Hidden, defHidden, m.FeatureDim), cmp.Or(h.Out, defOut)
	if m.Head, m.ProjDim, err = NewHead(rng, h.Kind, m.FeatureDim, h.Hidden, h.Out, h.FinalBN); err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	if h.Kind == HeadNone {
		h.Hidden, h.Out = 0, 0
	}
	if p := cfg.Predictor; p != nil {
		pc := *p
		pc.Kind = cmp.Or(pc.Kind, HeadMLP2BN)
		pc.Hidden, pc.Out = cmp.Or(pc.Hidden, m.ProjDim), cmp.Or(pc.Out, m.ProjDim)
		if m.Predictor, _, err = NewHead(rng, pc.Kind, m.ProjDim, pc.Hidden, pc.Out, pc.FinalBN); err != nil {
			return nil, fmt.Errorf("predictor: %w", err)
		}
		cfg.Predictor = &pc
	}
	m.Config = cfg
	m.SetPrefix("")
	return m, nil
}

// checkApplicable refuses fields that the chosen encoder would silently ignore.
func checkApplicable(cfg Config) error {
	var bad []string
	switch cfg.Name {
	case SmallCNNName:
		if cfg.InputDim != 0 || cfg.Hidden != nil {
			bad = []string{"input_dim", "hidden"}
		}
	case ResNet18Name, ResNet18CIFARName:
		if cfg.Strides != nil || cfg.PoolGrid > 1 || cfg.InputDim != 0 || cfg.Hidden != nil {
			bad = []string{"strides", "pool_grid", "input_dim", "hidden"}
		}
	case MLPName:
		if cfg.InChannels != 0 || cfg.Channels != nil || cfg.Strides != nil || cfg.PoolGrid > 1 {
			bad = []string{"in_channels", "channels", "strides", "pool_grid"}
		}
	}
	if bad != nil {
		return fmt.Errorf("%s: %v do not apply to this encoder", cfg.Name, bad)
	}
	return nil
}

func orInts(v []int, def ...int) []int {
	if v == nil {
		return def
	}
	return v
}

// Encode computes the representation h of x. The mlp encoder takes [N, InputDim] and also
// accepts the loader's [N, C, H, W] batches of vectors (C·H·W = InputDim), flattened per row.
func (m *Model) Encode(x *autodiff.Var) *autodiff.Var {
	if m.Config.Name == MLPName && len(x.Value.Shape) > 2 {
		x = autodiff.Reshape(x, x.Value.Shape[0], x.Value.Numel()/x.Value.Shape[0])
	}
	return m.Encoder.Forward(x)
}

// Project computes the projection z of h.
func (m *Model) Project(h *autodiff.Var) *autodiff.Var { return m.Head.Forward(h) }

// Predict applies the predictor to z; it panics when the model has none.
func (m *Model) Predict(z *autodiff.Var) *autodiff.Var {
	if m.Predictor == nil {
		panic("models.Predict: the model has no predictor (set Config.Predictor)")
	}
	return m.Predictor.Forward(z)
}

// Forward returns Project(Encode(x)).
func (m *Model) Forward(x *autodiff.Var) *autodiff.Var { return m.Project(m.Encode(x)) }

func (m *Model) parts() ([]string, []nn.Module) {
	names, mods := []string{"encoder", "head"}, []nn.Module{m.Encoder, m.Head}
	if m.Predictor != nil {
		names, mods = append(names, "predictor"), append(mods, m.Predictor)
	}
	return names, mods
}

// Params returns the encoder's, head's and predictor's parameters, in that order.
func (m *Model) Params() []*autodiff.Var {
	_, mods := m.parts()
	return collectParams(mods...)
}

// Buffers returns every BatchNorm buffer.
func (m *Model) Buffers() []*nn.Buffer {
	_, mods := m.parts()
	return collectBuffers(mods...)
}

// SetTraining sets the mode of every part (BatchNorm batch or running statistics). Build returns
// a model in training mode.
func (m *Model) SetTraining(training bool) {
	m.training = training
	_, mods := m.parts()
	for _, p := range mods {
		p.SetTraining(training)
	}
}

// SetPrefix names the parts prefix.encoder, prefix.head and prefix.predictor.
func (m *Model) SetPrefix(prefix string) {
	names, mods := m.parts()
	for i, p := range mods {
		p.SetPrefix(nn.Join(prefix, names[i]))
	}
}

// NumParams returns the number of trainable scalars.
func (m *Model) NumParams() int { return nn.NumParams(m) }

// Clone returns an independent deep copy (same config, parameters, buffers and mode), e.g. the
// initial momentum encoder of MoCo or BYOL.
func (m *Model) Clone() *Model {
	c, err := Build(m.Config, 0)
	if err != nil {
		panic(fmt.Sprintf("models.Clone: rebuilding %s: %v", m.Config.Name, err))
	}
	if err := c.CopyFrom(m); err != nil {
		panic(fmt.Sprintf("models.Clone: %v", err))
	}
	c.SetTraining(m.training)
	return c
}

// CopyFrom copies src's parameters and buffers into m; the architectures must match.
func (m *Model) CopyFrom(src *Model) error { return nn.CopyState(m, src) }

// EMAUpdate moves the momentum encoder and head towards the online ones,
// θ_target ← m·θ_target + (1−m)·θ_online, and copies the online BatchNorm buffers (MoCo, BYOL).
// Predictors are left alone: the target network of BYOL has none. Mismatched architectures panic.
func EMAUpdate(target, online *Model, m float32) {
	nn.EMA(target.Encoder, online.Encoder, m)
	nn.EMA(target.Head, online.Head, m)
}

// configKey is the safetensors metadata key under which Save stores the JSON Config.
const configKey = "config"

// Save writes the model's state dict in safetensors format with its Config (JSON) in the
// metadata under "config", plus any extra metadata.
func (m *Model) Save(w io.Writer, meta map[string]string) error {
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return err
	}
	all := map[string]string{configKey: string(cfg)}
	for k, v := range meta {
		if k == configKey {
			return fmt.Errorf("models.Save: metadata key %q is reserved", configKey)
		}
		all[k] = v
	}
	return nn.Save(w, m, all)
}

// Load builds the model described by a file written by Save and loads its weights. It returns
// the metadata too.
func Load(data []byte) (*Model, map[string]string, error) {
	f, err := safetensors.Read(data)
	if err != nil {
		return nil, nil, err
	}
	js, ok := f.Metadata[configKey]
	if !ok {
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return nil, nil, fmt.Errorf("models.Load: no %q metadata (keys %v): not written by Model.Save", configKey, keys)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		return nil, nil, fmt.Errorf("models.Load: config metadata: %w", err)
	}
	m, err := Build(cfg, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("models.Load: %w", err)
	}
	if err := nn.LoadStateDict(m, f.Tensors); err != nil {
		return nil, nil, fmt.Errorf("models.Load: %w", err)
	}
	return m, f.Metadata, nil
}

// LoadWeights loads a safetensors state dict into m, strictly: a file of another architecture
// or configuration fails with an *nn.StateDictError naming the differing keys.
func (m *Model) LoadWeights(data []byte) (map[string]string, error) { return nn.Load(data, m) }
