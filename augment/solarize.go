package augment

import (
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/data"
)

// Solarize inverts every value at or above Threshold (x → 1 - x) with probability P, as
// torchvision's RandomSolarize. BYOL (Grill et al. 2020, table 6) solarizes its second view with
// P = 0.2 and Threshold = 0.5.
type Solarize struct {
	Threshold float32
	P         float64
}

// Apply implements Transform.
func (t Solarize) Apply(img data.Image, rng *rand.Rand) data.Image {
	return applyCloned(t, img, rng)
}

// ApplyInPlace implements InPlace.
func (t Solarize) ApplyInPlace(img data.Image, rng *rand.Rand) {
	if rng.Float64() >= t.P {
		return
	}
	p := img.Pix
	for i, v := range p {
		if v >= t.Threshold {
			p[i] = 1 - v
		}
	}
}
