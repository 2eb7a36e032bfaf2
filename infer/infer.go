// Package infer runs a trained model over a dataset to produce features: the encoder's h (what is
// evaluated and searched) or the projection z.
package infer

import (
	"fmt"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/tensor"
)

// Options control Embed.
type Options struct {
	BatchSize  int  // images per forward pass; default 512
	Projection bool // return z = head(h) instead of h
	// Progress, when set, is called after each batch with the number of images done.
	Progress func(done, total int)
}

// Result holds the features of a dataset with each sample's label and id.
type Result struct {
	N, D   int
	Data   []float32 // [N, D] row-major
	Labels []int
	IDs    []string
}

// Embed runs m in evaluation mode over ds, transforming each image with t (the evaluation
// transform: resize and normalise; it should be deterministic), and returns h for every sample
// (z with Options.Projection). The model is put back in training mode afterwards.
func Embed(m *models.Model, ds data.Dataset, t augment.Transform, opt Options) (*Result, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 512
	}
	n := ds.Len()
	if n == 0 {
		return nil, fmt.Errorf("embedding: the dataset is empty")
	}
	m.SetTraining(false)
	defer m.SetTraining(true)
	res := &Result{N: n, Labels: make([]int, n), IDs: make([]string, n)}
	tp := autodiff.NewTape()
	tp.NoGrad = true
	var c, h, w int
	imgs := make([]data.Image, opt.BatchSize)
	for lo := 0; lo < n; lo += opt.BatchSize {
		hi := min(lo+opt.BatchSize, n)
		var firstErr error
		errs := make([]error, hi-lo)
		parallel.For(hi-lo, 16, func(a, b int) {
			rng := rand.New(rand.NewPCG(0, 0))
			for i := a; i < b; i++ {
				s, err := ds.Get(lo + i)
				if err != nil {
					errs[i] = err
					continue
				}
				imgs[i] = t.Apply(s.Image, rng)
				res.Labels[lo+i] = s.Label
				res.IDs[lo+i] = s.ID
			}
		})
		for _, err := range errs {
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if firstErr != nil {
			return nil, fmt.Errorf("embedding: %w", firstErr)
		}
		if lo == 0 {
			c, h, w = imgs[0].C, imgs[0].H, imgs[0].W
		}
		x := tensor.New(hi-lo, c, h, w)
		chw := c * h * w
		for i := 0; i < hi-lo; i++ {
			im := imgs[i]
			if im.C != c || im.H != h || im.W != w {
				return nil, fmt.Errorf("embedding: sample %d (%s) is %dx%dx%d after the transform, the first was %dx%dx%d", lo+i, res.IDs[lo+i], im.C, im.H, im.W, c, h, w)
			}
			copy(x.Data[i*chw:], im.Pix)
		}
		out := m.Encode(tp.Constant(x))
		if opt.Projection {
			out = m.Project(out)
		}
		if res.Data == nil {
			res.D = out.Shape()[1]
			res.Data = make([]float32, n*res.D)
		}
		copy(res.Data[lo*res.D:], out.Data())
		tp.Reset()
		if opt.Progress != nil {
			opt.Progress(hi, n)
		}
	}
	return res, nil
}
