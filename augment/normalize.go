package augment

import (
	"fmt"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/data"
)

// Standard per-channel statistics.
var (
	ImageNetMean = []float32{0.485, 0.456, 0.406}
	ImageNetStd  = []float32{0.229, 0.224, 0.225}
	// ImageNetGrayMean and ImageNetGrayStd standardise one-channel images in the ImageNet presets.
	ImageNetGrayMean = []float32{0.449}
	ImageNetGrayStd  = []float32{0.226}
	// FashionMNISTMean and FashionMNISTStd are the Fashion-MNIST training split's statistics.
	FashionMNISTMean = []float32{0.2860}
	FashionMNISTStd  = []float32{0.3530}
)

// Normalize standardises each channel, (x - Mean[c]) / Std[c], as torchvision's Normalize. Mean
// and Std hold one value per channel, or a single value used for every channel.
type Normalize struct {
	Mean, Std []float32
}

// Apply implements Transform.
func (t Normalize) Apply(img data.Image, rng *rand.Rand) data.Image {
	return applyCloned(t, img, rng)
}

// ApplyInPlace implements InPlace.
func (t Normalize) ApplyInPlace(img data.Image, _ *rand.Rand) {
	if (len(t.Mean) != 1 && len(t.Mean) != img.C) || (len(t.Std) != 1 && len(t.Std) != img.C) {
		panic(fmt.Sprintf("augment.Normalize: %d means and %d stds for an image of %d channels",
			len(t.Mean), len(t.Std), img.C))
	}
	plane := img.H * img.W
	for c := 0; c < img.C; c++ {
		m, s := t.Mean[0], t.Std[0]
		if len(t.Mean) > 1 {
			m = t.Mean[c]
		}
		if len(t.Std) > 1 {
			s = t.Std[c]
		}
		inv := 1 / s
		off := -m * inv
		p := img.Pix[c*plane : (c+1)*plane]
		for i, v := range p {
			p[i] = v*inv + off
		}
	}
}
