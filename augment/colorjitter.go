package augment

import (
	"math"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/data"
)

// ColorJitter randomly changes brightness, contrast, saturation and hue, in a random order, with
// probability P: SimCLR's "color distortion" (Chen et al. 2020, appendix A), defined as
// torchvision's RandomApply([ColorJitter(b, c, s, h)], p).
//
// Each factor is drawn uniformly: brightness, contrast and saturation from [max(0, 1-x), 1+x],
// hue from [-Hue, Hue] (Hue ≤ 0.5); a zero strength leaves that property alone. As torchvision
// does, brightness scales the image, contrast blends it with the mean of its grayscale version,
// saturation blends it with its grayscale version, hue rotates it in HSV space, and every step
// clamps to [0, 1]. On one-channel images saturation and hue are no-ops.
//
// SimCLR uses strength s = 1 as ColorJitter{0.8s, 0.8s, 0.8s, 0.2s, P: 0.8}.
type ColorJitter struct {
	Brightness, Contrast, Saturation, Hue float64
	P                                     float64 // probability of applying the jitter at all
}

// Apply implements Transform.
func (t ColorJitter) Apply(img data.Image, rng *rand.Rand) data.Image {
	return applyCloned(t, img, rng)
}

// ApplyInPlace implements InPlace.
func (t ColorJitter) ApplyInPlace(img data.Image, rng *rand.Rand) {
	if rng.Float64() >= t.P {
		return
	}
	order := [4]int{0, 1, 2, 3}
	for i := 3; i > 0; i-- {
		j := rng.IntN(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	var f [4]float64
	for i, s := range [3]float64{t.Brightness, t.Contrast, t.Saturation} {
		if s > 0 {
			f[i] = uniform(rng, max(0, 1-s), 1+s)
		}
	}
	if t.Hue > 0 {
		f[3] = uniform(rng, -t.Hue, t.Hue)
	}
	strengths := [4]float64{t.Brightness, t.Contrast, t.Saturation, t.Hue}
	for _, k := range order {
		if strengths[k] <= 0 {
			continue
		}
		switch k {
		case 0:
			AdjustBrightness(img, float32(f[0]))
		case 1:
			AdjustContrast(img, float32(f[1]))
		case 2:
			AdjustSaturation(img, float32(f[2]))
		case 3:
			AdjustHue(img, float32(f[3]))
		}
	}
}

// AdjustBrightness multiplies every value by factor and clamps to [0, 1], in place.
func AdjustBrightness(img data.Image, factor float32) {
	p := img.Pix
	for i, v := range p {
		p[i] = clamp01(v * factor)
	}
}

// AdjustContrast blends the image with the mean of its grayscale version,
// factor·x + (1-factor)·mean, clamped to [0, 1], in place.
func AdjustContrast(img data.Image, factor float32) {
	mean := float32(grayMean(img))
	blendConst(img.Pix, factor, (1-factor)*mean)
}

// blendConst sets p[i] = clamp(a·p[i] + b).
func blendConst(p []float32, a, b float32) {
	for i, v := range p {
		p[i] = clamp01(a*v + b)
	}
}

// grayMean is the mean of the grayscale version of img (torchvision's rgb_to_grayscale weights).
func grayMean(img data.Image) float64 {
	plane := img.H * img.W
	var s float64
	if img.C == 3 {
		r, g, b := img.Pix[:plane], img.Pix[plane:2*plane], img.Pix[2*plane:3*plane]
		for i := range r {
			s += float64(grayR*r[i] + grayG*g[i] + grayB*b[i])
		}
	} else {
		for _, v := range img.Pix[:plane] {
			s += float64(v)
		}
	}
	return s / float64(plane)
}

// AdjustSaturation blends an RGB image with its grayscale version, factor·x + (1-factor)·gray,
// clamped to [0, 1], in place. Images without three channels are left unchanged.
func AdjustSaturation(img data.Image, factor float32) {
	if img.C != 3 {
		return
	}
	plane := img.H * img.W
	r, g, b := img.Pix[:plane], img.Pix[plane:2*plane], img.Pix[2*plane:3*plane]
	k := 1 - factor
	for i := range r {
		gr := k * (grayR*r[i] + grayG*g[i] + grayB*b[i])
		r[i] = clamp01(factor*r[i] + gr)
		g[i] = clamp01(factor*g[i] + gr)
		b[i] = clamp01(factor*b[i] + gr)
	}
}

// AdjustHue rotates the hue of an RGB image by shift (a fraction of a turn, in [-0.5, 0.5]) in
// HSV space, in place, as torchvision's adjust_hue (convert to HSV, add shift to H modulo 1,
// convert back). Images without three channels are left unchanged.
//
// The conversion is done in closed form: a hue rotation keeps each pixel's maximum v and minimum
// p = v - cr (cr = max - min) and only moves the middle channel, so the result equals
// torchvision's to float rounding without computing S.
func AdjustHue(img data.Image, shift float32) {
	if img.C != 3 {
		return
	}
	plane := img.H * img.W
	r, g, b := img.Pix[:plane], img.Pix[plane:2*plane], img.Pix[2*plane:3*plane]
	g = g[:len(r)]
	b = b[:len(r)]
	shift6 := 6 * (shift - float32(math.Floor(float64(shift))))
	for i := range r {
		r[i], g[i], b[i] = rotateHue(r[i], g[i], b[i], shift6)
	}
}

// rotateHue rotates one RGB pixel's hue by shift6/6 of a turn (shift6 in [0, 6)).
func rotateHue(r, g, b, shift6 float32) (float32, float32, float32) {
	v := max(r, g, b)
	cr := v - min(r, g, b)
	if cr == 0 {
		return r, g, b
	}
	inv := 1 / cr
	var h6 float32 // hue in sextants, in [-1, 5)
	switch {
	case v == r:
		h6 = (g - b) * inv
	case v == g:
		h6 = 2 + (b-r)*inv
	default:
		h6 = 4 + (r-g)*inv
	}
	h6 += shift6
	if h6 < 0 {
		h6 += 6
	}
	if h6 >= 6 {
		h6 -= 6
	}
	i := int(h6)
	f := h6 - float32(i)
	p := v - cr
	switch i {
	case 0:
		return v, p + cr*f, p
	case 1:
		return v - cr*f, v, p
	case 2:
		return p, v, p + cr*f
	case 3:
		return p, v - cr*f, v
	case 4:
		return p + cr*f, p, v
	default:
		return v, p, v - cr*f
	}
}
