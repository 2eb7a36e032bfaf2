package method

import (
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

// BenchmarkStep times one training step (loss, backward, Adam, after-step) of each method on
// the reference model with 128 images × 2 views of 1×28×28.
func BenchmarkStep(b *testing.B) {
	const n = 128
	x := tensor.New(2*n, 1, 28, 28)
	copy(x.Data, randomImages(2*n*28*28/64, 1).Data)
	for _, name := range allMethods {
		b.Run(name, func(b *testing.B) {
			f, _ := Lookup(name)
			cfg := models.Reference()
			if f.Adjust != nil {
				f.Adjust(&cfg)
			}
			m, err := models.Build(cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			meth, err := f.New(m, Config{})
			if err != nil {
				b.Fatal(err)
			}
			opt := optim.NewAdam(meth.Params(), optim.AdamConfig{LR: 1e-3})
			tp := autodiff.NewTape()
			labels := make([]int, n)
			for i := range labels {
				labels[i] = i % 10
			}
			for b.Loop() {
				step(tp, meth, opt, Batch{X: tp.Constant(x), V: 2, N: n, Labels: labels}, 0.5)
			}
		})
	}
}
