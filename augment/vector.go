package augment

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/data"
)

// SCARF is the random feature corruption of Bahri et al., "SCARF: Self-Supervised Contrastive
// Learning using Random Feature Corruption" (ICLR 2022), for tabular vectors (data.Image with
// C = H = 1 and W = the number of features D): a random subset of round(Rate·D) features is
// replaced by draws from each feature's empirical marginal distribution, that is, by the same
// feature of a uniformly chosen row of the training set.
//
//	scarf, err := augment.NewSCARF(train, 0.6)
//	views := []augment.Transform{scarf, scarf}
type SCARF struct {
	Rate float64 // fraction of features corrupted; the paper's default is 0.6
	rows []float32
	n, d int
}

// NewSCARF reads every row of ds (vectors of equal length) as the marginals to draw from.
func NewSCARF(ds data.Dataset, rate float64) (*SCARF, error) {
	n := ds.Len()
	if n == 0 {
		return nil, fmt.Errorf("augment.NewSCARF: empty dataset")
	}
	var rows []float32
	d := -1
	for i := 0; i < n; i++ {
		s, err := ds.Get(i)
		if err != nil {
			return nil, fmt.Errorf("augment.NewSCARF: reading row %d: %w", i, err)
		}
		if d < 0 {
			d = len(s.Image.Pix)
			rows = make([]float32, 0, n*d)
		}
		if len(s.Image.Pix) != d {
			return nil, fmt.Errorf("augment.NewSCARF: row %d has %d features, row 0 has %d", i, len(s.Image.Pix), d)
		}
		rows = append(rows, s.Image.Pix...)
	}
	return NewSCARFFromRows(rows, n, d, rate)
}

// NewSCARFFromRows uses the row-major n×d matrix rows (not copied) as the marginals.
func NewSCARFFromRows(rows []float32, n, d int, rate float64) (*SCARF, error) {
	if n <= 0 || d <= 0 || len(rows) != n*d {
		return nil, fmt.Errorf("augment.NewSCARFFromRows: %d values for %d×%d rows", len(rows), n, d)
	}
	if rate < 0 || rate > 1 {
		return nil, fmt.Errorf("augment.NewSCARFFromRows: corruption rate %g outside [0, 1]", rate)
	}
	return &SCARF{Rate: rate, rows: rows, n: n, d: d}, nil
}

// Apply implements Transform.
func (t *SCARF) Apply(img data.Image, rng *rand.Rand) data.Image { return applyCloned(t, img, rng) }

// ApplyInPlace implements InPlace.
func (t *SCARF) ApplyInPlace(img data.Image, rng *rand.Rand) {
	x := img.Pix
	if len(x) != t.d {
		panic(fmt.Sprintf("augment.SCARF: vector of %d features, marginals have %d", len(x), t.d))
	}
	need := int(math.Round(t.Rate * float64(t.d)))
	// Selection sampling (Knuth's algorithm S): exactly need features, uniformly, in one pass.
	for j := 0; j < t.d && need > 0; j++ {
		if rng.IntN(t.d-j) < need {
			x[j] = t.rows[rng.IntN(t.n)*t.d+j]
			need--
		}
	}
}

// GaussianNoise adds independent N(0, Std²) noise to every value: the simplest corruption for
// vectors (and for images, optionally clamped to [0, 1]).
type GaussianNoise struct {
	Std   float64
	Clamp bool // clamp the result to [0, 1]
}

// Apply implements Transform.
func (t GaussianNoise) Apply(img data.Image, rng *rand.Rand) data.Image {
	return applyCloned(t, img, rng)
}

// ApplyInPlace implements InPlace.
func (t GaussianNoise) ApplyInPlace(img data.Image, rng *rand.Rand) {
	s := t.Std
	p := img.Pix
	for i, v := range p {
		v += float32(s * rng.NormFloat64())
		if t.Clamp {
			v = clamp01(v)
		}
		p[i] = v
	}
}
