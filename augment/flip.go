package augment

import (
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/data"
)

// HorizontalFlip mirrors the image left to right with probability P (torchvision's
// RandomHorizontalFlip; SimCLR and MoCo use P = 0.5).
type HorizontalFlip struct {
	P float64
}

// Apply implements Transform.
func (t HorizontalFlip) Apply(img data.Image, rng *rand.Rand) data.Image {
	return applyCloned(t, img, rng)
}

// ApplyInPlace implements InPlace.
func (t HorizontalFlip) ApplyInPlace(img data.Image, rng *rand.Rand) {
	if rng.Float64() >= t.P {
		return
	}
	w := img.W
	for r := 0; r < img.C*img.H; r++ {
		row := img.Pix[r*w : (r+1)*w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// VerticalFlip mirrors the image top to bottom with probability P (torchvision's
// RandomVerticalFlip).
type VerticalFlip struct {
	P float64
}

// Apply implements Transform.
func (t VerticalFlip) Apply(img data.Image, rng *rand.Rand) data.Image {
	return applyCloned(t, img, rng)
}

// ApplyInPlace implements InPlace.
func (t VerticalFlip) ApplyInPlace(img data.Image, rng *rand.Rand) {
	if rng.Float64() >= t.P {
		return
	}
	w, h := img.W, img.H
	for c := 0; c < img.C; c++ {
		p := img.Pix[c*h*w : (c+1)*h*w]
		for i, j := 0, h-1; i < j; i, j = i+1, j-1 {
			a, b := p[i*w:(i+1)*w], p[j*w:(j+1)*w]
			for x := range a {
				a[x], b[x] = b[x], a[x]
			}
		}
	}
}
