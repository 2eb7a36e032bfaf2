package augment

import (
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/data"
)

// ITU-R 601-2 luma weights, as torchvision's rgb_to_grayscale.
const (
	grayR = 0.2989
	grayG = 0.587
	grayB = 0.114
)

// RandomGrayscale converts an RGB image to grayscale with probability P, keeping three (equal)
// channels, as torchvision's RandomGrayscale (SimCLR, MoCo v2 and BYOL use P = 0.2). Images
// with one channel are already gray and are left unchanged.
type RandomGrayscale struct {
	P float64
}

// Apply implements Transform.
func (t RandomGrayscale) Apply(img data.Image, rng *rand.Rand) data.Image {
	return applyCloned(t, img, rng)
}

// ApplyInPlace implements InPlace.
func (t RandomGrayscale) ApplyInPlace(img data.Image, rng *rand.Rand) {
	if rng.Float64() >= t.P || img.C != 3 {
		return
	}
	plane := img.H * img.W
	r, g, b := img.Pix[:plane], img.Pix[plane:2*plane], img.Pix[2*plane:3*plane]
	for i := range r {
		v := grayR*r[i] + grayG*g[i] + grayB*b[i]
		r[i], g[i], b[i] = v, v, v
	}
}
