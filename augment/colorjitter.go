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
// HSV space, in place, with torchvision's conversions. Images without three channels are left
// unchanged.
func AdjustHue(img data.Image, shift float32) {
	if img.C != 3 {
		return
	}
	plane := img.H * img.W
	r, g, b := img.Pix[:plane], img.Pix[plane:2*plane], img.Pix[2*plane:3*plane]
	for i := range r {
		h, s, v := rgbToHSV(r[i], g[i], b[i])
		h += shift
		h -= float32(math.Floor(float64(h)))
		r[i], g[i], b[i] = hsvToRGB(h, s, v)
	}
}

// rgbToHSV follows torchvision's _rgb2hsv.
func rgbToHSV(r, g, b float32) (h, s, v float32) {
	maxc := max(r, g, b)
	minc := min(r, g, b)
	if maxc == minc {
		return 0, 0, maxc
	}
	cr := maxc - minc
	s = cr / maxc
	rc := (maxc - r) / cr
	gc := (maxc - g) / cr
	bc := (maxc - b) / cr
	switch {
	case maxc == r:
		h = bc - gc
	case maxc == g:
		h = 2 + rc - bc
	default:
		h = 4 + gc - rc
	}
	h = h/6 + 1
	h -= float32(math.Floor(float64(h)))
	return h, s, maxc
}

// hsvToRGB follows torchvision's _hsv2rgb.
func hsvToRGB(h, s, v float32) (r, g, b float32) {
	h6 := h * 6
	fi := float32(math.Floor(float64(h6)))
	f := h6 - fi
	i := int(fi) % 6
	if i < 0 {
		i += 6
	}
	p := clamp01(v * (1 - s))
	q := clamp01(v * (1 - s*f))
	t := clamp01(v * (1 - s*(1-f)))
	switch i {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	default:
		return v, p, q
	}
}
