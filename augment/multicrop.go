package augment

import (
	"fmt"
	"math"
)

// MultiCrop configures the local views of multi-crop (Caron et al., "Unsupervised Learning of
// Visual Features by Contrasting Cluster Assignments", NeurIPS 2020, §3.2; used by DINO, Caron et
// al. 2021): besides a preset's two global views at full resolution, Local small crops of small
// regions at low resolution, which add views at a fraction of a global view's cost.
//
// The zero value means no local views. Defaults for the other fields: Size is 3/7 of the global
// size (DINO's 96 of 224; 12 for 28×28 images), at least 8; Scale is DINO's [0.05, 0.4].
type MultiCrop struct {
	Local int        // number of local views per image
	Size  int        // their side in pixels
	Scale [2]float64 // range of a local crop's area as a fraction of the image's
}

// WithDefaults returns m with Size and Scale filled in for global views of globalSize pixels.
func (m MultiCrop) WithDefaults(globalSize int) MultiCrop {
	if m.Size == 0 {
		m.Size = max(8, int(math.Round(float64(globalSize)*3/7)))
	}
	if m.Scale == [2]float64{} {
		m.Scale = [2]float64{0.05, 0.4}
	}
	return m
}

// LocalViews returns m.Local pipelines for the local views of the named preset (see Preset) at
// global size globalSize: each is the preset's first view with its RandomResizedCrop replaced by
// a crop of m.Scale resized to m.Size×m.Size (the aspect-ratio range kept); every other step
// (flip, colour, blur, normalisation) is the global view's. Presets without a random crop
// ("eval", "none") have no local views and give an error, as does an invalid size or scale.
//
//	local, _ := augment.LocalViews("small-gray", 28, 1, augment.MultiCrop{Local: 4})
//	// 4 pipelines: 12×12 crops of 5–40% of the image, flipped and jittered as the global views
func LocalViews(name string, globalSize, channels int, m MultiCrop) ([]Transform, error) {
	if m.Local < 0 {
		return nil, fmt.Errorf("augment: %d local views; want ≥ 0", m.Local)
	}
	if m.Local == 0 {
		return nil, nil
	}
	m = m.WithDefaults(globalSize)
	if m.Size < 1 {
		return nil, fmt.Errorf("augment: local view size %d must be positive", m.Size)
	}
	if !(m.Scale[0] > 0 && m.Scale[0] <= m.Scale[1] && m.Scale[1] <= 1) {
		return nil, fmt.Errorf("augment: local crop scale %v must satisfy 0 < lo ≤ hi ≤ 1", m.Scale)
	}
	views, err := Preset(name, globalSize, channels)
	if err != nil {
		return nil, err
	}
	p, ok := views[0].(*Pipeline)
	if !ok {
		return nil, fmt.Errorf("augment: preset %q is not a pipeline; it has no local views", name)
	}
	steps := make([]Transform, len(p.Steps))
	found := false
	for i, t := range p.Steps {
		steps[i] = t
		if c, ok := t.(RandomResizedCrop); ok {
			_, ratio := c.scaleRatio()
			steps[i] = RandomResizedCrop{Height: m.Size, Width: m.Size, Scale: m.Scale, Ratio: ratio}
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("augment: preset %q has no random crop, so no local views", name)
	}
	local := Compose(steps...)
	out := make([]Transform, m.Local)
	for i := range out {
		out[i] = local
	}
	return out, nil
}
