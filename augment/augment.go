// Package augment implements the stochastic data augmentations of contrastive learning: the image
// transforms of SimCLR (Chen et al., "A Simple Framework for Contrastive Learning of Visual
// Representations", ICML 2020), MoCo v2 (Chen et al., "Improved Baselines with Momentum Contrastive
// Learning", 2020) and BYOL (Grill et al., "Bootstrap Your Own Latent", NeurIPS 2020), the SCARF
// feature corruption for tabular vectors (Bahri et al., "SCARF: Self-Supervised Contrastive
// Learning using Random Feature Corruption", ICLR 2022), and named presets that assemble them.
//
// Every transform follows torchvision's definition of the operation of the same name, on float32
// CHW images with values in [0, 1] (see data.Image). Randomness comes from a *rand.Rand passed to
// each call; SampleRNG derives one from (seed, epoch, index, view), so an augmented batch depends
// only on those numbers and never on how many goroutines produced it.
//
// A Transform's Apply never modifies its input. Transforms that keep the image size also implement
// InPlace, and transforms that resize implement Into; Compose and ApplyTo use these to run a whole
// pipeline with no allocation, writing the final image straight into a caller's buffer (a slot of
// a batch tensor):
//
//	views, _ := augment.Preset("small-gray", 28, 1)
//	var s augment.Scratch
//	out := augment.ApplyTo(views[0], dst, img, augment.SampleRNG(seed, epoch, i, 0), &s)
package augment

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/contrastive-go/contrastive/data"
)

// Transform is one stochastic image operation.
type Transform interface {
	// Apply returns the transformed image. It never modifies img; the result may share img's
	// memory only when the transform left the image unchanged.
	Apply(img data.Image, rng *rand.Rand) data.Image
}

// InPlace is implemented by transforms that keep the image's shape and can overwrite it.
type InPlace interface {
	Transform
	// ApplyInPlace transforms img, overwriting img.Pix.
	ApplyInPlace(img data.Image, rng *rand.Rand)
}

// Into is implemented by transforms whose output has a shape that depends only on the input's
// shape, and that can write it into a caller's buffer.
type Into interface {
	Transform
	// OutputShape returns the shape of the output for an input of shape c×h×w.
	OutputShape(c, h, w int) (oc, oh, ow int)
	// ApplyInto writes the output into dst[:oc*oh*ow] (dst must hold at least that many values
	// and must not overlap src) and returns it as an image.
	ApplyInto(dst []float32, src data.Image, rng *rand.Rand) data.Image
}

// Func adapts a function to Transform. Like every Transform it must not modify its input; it may
// return the input itself when it changes nothing.
type Func func(img data.Image, rng *rand.Rand) data.Image

// Apply implements Transform.
func (f Func) Apply(img data.Image, rng *rand.Rand) data.Image { return f(img, rng) }

// Scratch holds the reusable intermediate buffers of ApplyTo. Its zero value is ready to use; use
// one per goroutine.
type Scratch struct {
	bufs [2][]float32
}

// take returns a buffer of n values that does not share memory with avoid.
func (s *Scratch) take(n int, avoid []float32) []float32 {
	for i := range s.bufs {
		b := s.bufs[i]
		if cap(b) > 0 && len(avoid) > 0 && &b[:1][0] == &avoid[:1][0] {
			continue
		}
		if cap(b) < n {
			b = make([]float32, n)
			s.bufs[i] = b
		}
		return b[:n]
	}
	panic("augment: scratch buffers exhausted")
}

// Pipeline applies transforms in order. Build one with Compose.
type Pipeline struct {
	Steps []Transform
	// lastResize is the index of the last step that is not InPlace (-1 when all are).
	lastResize int
}

// Compose returns the pipeline that applies ts in order (torchvision's transforms.Compose).
func Compose(ts ...Transform) *Pipeline {
	p := &Pipeline{Steps: ts, lastResize: -1}
	for i, t := range ts {
		if _, ok := t.(InPlace); !ok {
			p.lastResize = i
		}
	}
	return p
}

// Apply runs the pipeline on img and returns a new image.
func (p *Pipeline) Apply(img data.Image, rng *rand.Rand) data.Image {
	var s Scratch
	out := p.applyTo(nil, img, rng, &s)
	if sameMem(out.Pix, img.Pix) {
		return out.Clone()
	}
	return out
}

// String lists the steps.
func (p *Pipeline) String() string {
	parts := make([]string, len(p.Steps))
	for i, t := range p.Steps {
		parts[i] = fmt.Sprintf("%+v", t)
	}
	return "Compose(" + strings.Join(parts, ", ") + ")"
}

func sameMem(a, b []float32) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// applyTo runs the steps, writing the final image into dst when dst has exactly its size.
func (p *Pipeline) applyTo(dst []float32, src data.Image, rng *rand.Rand, s *Scratch) data.Image {
	cur, owned := src, false
	for i, t := range p.Steps {
		switch t := t.(type) {
		case InPlace:
			if !owned {
				n := len(cur.Pix)
				var buf []float32
				if i > p.lastResize && len(dst) == n {
					buf = dst
				} else {
					buf = s.take(n, cur.Pix)
				}
				copy(buf, cur.Pix)
				cur = data.Image{C: cur.C, H: cur.H, W: cur.W, Pix: buf}
				owned = true
			}
			t.ApplyInPlace(cur, rng)
		case Into:
			oc, oh, ow := t.OutputShape(cur.C, cur.H, cur.W)
			n := oc * oh * ow
			var buf []float32
			if i == p.lastResize && len(dst) == n {
				buf = dst
			} else {
				buf = s.take(n, cur.Pix)
			}
			cur = t.ApplyInto(buf, cur, rng)
			owned = true
		default:
			out := t.Apply(cur, rng)
			if !sameMem(out.Pix, cur.Pix) {
				owned = true
			}
			cur = out
		}
	}
	if len(dst) == len(cur.Pix) && !sameMem(dst, cur.Pix) {
		copy(dst, cur.Pix)
		cur.Pix = dst
	}
	return cur
}

// ApplyTo runs t on src and returns the result, written into dst when len(dst) equals the
// output's size (the returned image then shares dst's memory); otherwise the result lives in s or
// in new memory. src is never modified. Pipelines, InPlace and Into transforms run without
// allocating once s has grown to size.
func ApplyTo(t Transform, dst []float32, src data.Image, rng *rand.Rand, s *Scratch) data.Image {
	switch t := t.(type) {
	case *Pipeline:
		return t.applyTo(dst, src, rng, s)
	case InPlace:
		var buf []float32
		if len(dst) == len(src.Pix) {
			buf = dst
		} else {
			buf = s.take(len(src.Pix), src.Pix)
		}
		copy(buf, src.Pix)
		img := data.Image{C: src.C, H: src.H, W: src.W, Pix: buf}
		t.ApplyInPlace(img, rng)
		return img
	case Into:
		oc, oh, ow := t.OutputShape(src.C, src.H, src.W)
		n := oc * oh * ow
		var buf []float32
		if len(dst) == n {
			buf = dst
		} else {
			buf = s.take(n, src.Pix)
		}
		return t.ApplyInto(buf, src, rng)
	default:
		out := t.Apply(src, rng)
		if len(dst) == len(out.Pix) && !sameMem(dst, out.Pix) {
			copy(dst, out.Pix)
			out.Pix = dst
		}
		return out
	}
}

// applyCloned implements Apply for an InPlace transform.
func applyCloned(t InPlace, img data.Image, rng *rand.Rand) data.Image {
	out := img.Clone()
	t.ApplyInPlace(out, rng)
	return out
}

// applyNew implements Apply for an Into transform.
func applyNew(t Into, img data.Image, rng *rand.Rand) data.Image {
	c, h, w := t.OutputShape(img.C, img.H, img.W)
	return t.ApplyInto(make([]float32, c*h*w), img, rng)
}

// uniform returns a value drawn uniformly from [lo, hi).
func uniform(rng *rand.Rand, lo, hi float64) float64 {
	return lo + (hi-lo)*rng.Float64()
}

// clamp01 clamps to [0, 1]; the min and max builtins compile to branch-free instructions, which
// beat branches on the unpredictable values of an image.
func clamp01(v float32) float32 { return max(0, min(1, v)) }
