package method

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/nn"
	"github.com/contrastive-go/contrastive/tensor"
)

// This file holds what the momentum-encoder methods (MoCo v2, MoCo v3, BYOL) and the
// predictor methods share: the target network, its momentum schedule, no-grad forwards and
// State helpers.

// withPredictor returns a Factory.Adjust that adds a prediction head of kind mlp2-bn
// (Linear → BN → ReLU → Linear, widths defaulting to the projection's) unless the configuration
// already has one.
func withPredictor(cfg *models.Config) {
	if cfg.Predictor == nil {
		cfg.Predictor = &models.HeadConfig{Kind: models.HeadMLP2BN}
	}
}

// newTarget returns the momentum (target) network of online: a model with online's encoder and
// projection head, copied, and no predictor (BYOL's target has none; MoCo's key encoder is the
// query encoder without the predictor). It stays in training mode: as in the reference code,
// the target normalises with batch statistics.
func newTarget(online *models.Model) (*models.Model, error) {
	cfg := online.Config
	cfg.Predictor = nil
	t, err := models.Build(cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("building the momentum encoder: %w", err)
	}
	if err := nn.CopyState(t.Encoder, online.Encoder); err != nil {
		return nil, fmt.Errorf("copying the encoder into the momentum encoder: %w", err)
	}
	if err := nn.CopyState(t.Head, online.Head); err != nil {
		return nil, fmt.Errorf("copying the head into the momentum encoder: %w", err)
	}
	t.SetTraining(true)
	return t, nil
}

// checkMomentum validates a base EMA momentum m ∈ [0, 1).
func checkMomentum(method string, m float64) error {
	if !(m >= 0 && m < 1) {
		return fmt.Errorf("%s: momentum %g must be in [0, 1) (typical: 0.99–0.999)", method, m)
	}
	return nil
}

// cosineMomentum is the half-cycle cosine schedule of BYOL (eq. in §3.2) and MoCo v3
// (--moco-m-cos), from base at progress 0 to 1 at progress 1:
//
//	m(t) = 1 − (1 − base)·(cos(π·t) + 1)/2,   t ∈ [0, 1] (clamped)
func cosineMomentum(base, progress float64) float64 {
	t := min(max(progress, 0), 1)
	return 1 - (1-base)*(math.Cos(math.Pi*t)+1)/2
}

// noGrad runs f with tp recording nothing (the momentum encoder's forward: its outputs are
// values on tp, released by tp.Reset, with no backward nodes), then restores tp's mode.
func noGrad[T any](tp *autodiff.Tape, f func() T) T {
	prev := tp.NoGrad
	tp.NoGrad = true
	defer func() { tp.NoGrad = prev }()
	return f()
}

// modelState returns m's state dict with every key prefixed by prefix + ".", copied so that the
// caller may keep it while m trains on.
func modelState(prefix string, m nn.Module, into map[string]*tensor.Tensor) {
	for k, t := range nn.StateDict(m) {
		into[prefix+"."+k] = t.Clone()
	}
}

// loadModelState loads the keys of st under prefix + "." into m (strictly).
func loadModelState(prefix string, m nn.Module, st map[string]*tensor.Tensor) error {
	sd := map[string]*tensor.Tensor{}
	for k, t := range st {
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok {
			sd[rest] = t
		}
	}
	if err := nn.LoadStateDict(m, sd); err != nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return nil
}

// checkKeys reports keys of st that are neither under one of the prefixes nor one of the
// exact names, so that a state saved by another method is refused rather than half-loaded.
func checkKeys(st map[string]*tensor.Tensor, prefixes []string, names ...string) error {
	var bad []string
outer:
	for k := range st {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p+".") {
				continue outer
			}
		}
		for _, n := range names {
			if k == n {
				continue outer
			}
		}
		bad = append(bad, k)
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("unexpected state keys %v (saved by another method?)", bad)
	}
	return nil
}

// u64Tensor stores v exactly in float32s, 16 bits per element (float32 holds integers up to
// 2²⁴ exactly).
func u64Tensor(v uint64) *tensor.Tensor {
	t := tensor.New(4)
	for i := range 4 {
		t.Data[i] = float32((v >> (16 * i)) & 0xffff)
	}
	return t
}

// tensorU64 inverts u64Tensor.
func tensorU64(name string, t *tensor.Tensor) (uint64, error) {
	if t == nil || len(t.Data) != 4 {
		return 0, fmt.Errorf("state %q: want 4 values", name)
	}
	var v uint64
	for i, f := range t.Data {
		if f < 0 || f > 0xffff || f != float32(math.Trunc(float64(f))) {
			return 0, fmt.Errorf("state %q: element %d is %g, not a 16-bit integer", name, i, f)
		}
		v |= uint64(f) << (16 * i)
	}
	return v, nil
}

// rowsOf copies rows idx of x ([R, ...] row-major) into a new tape tensor [len(idx), ...].
func rowsOf(tp *autodiff.Tape, x *tensor.Tensor, idx []int) *tensor.Tensor {
	shape := append([]int{len(idx)}, x.Shape[1:]...)
	out := tp.Alloc(false, shape...)
	d := tensor.Numel(x.Shape[1:])
	for j, i := range idx {
		copy(out.Data[j*d:(j+1)*d], x.Data[i*d:(i+1)*d])
	}
	return out
}
