package optim_test

import (
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/optim"
)

// resnet18Sizes are the element counts of ResNet-18's parameter tensors without the classifier
// (11.2M in all): the stem, four stages of 3×3 convolutions with their downsampling 1×1s, and
// the batch-norm scales and shifts, which are many but small.
func resnet18Sizes() []int {
	sizes := []int{64 * 3 * 7 * 7, 64, 64}
	in := 64
	for _, c := range []int{64, 128, 256, 512} {
		for blk := range 2 {
			cin := c
			if blk == 0 {
				cin = in
			}
			sizes = append(sizes, c*cin*9, c, c, c*c*9, c, c)
			if blk == 0 && cin != c {
				sizes = append(sizes, c*cin, c, c)
			}
		}
		in = c
	}
	return sizes
}

// BenchmarkAdamStep times one Adam or AdamW step over ResNet-18-sized parameters with random
// gradients; the reported throughput counts parameter elements.
func BenchmarkAdamStep(b *testing.B) {
	for _, bc := range []struct {
		name string
		make func([]*autodiff.Var, optim.AdamConfig) *optim.Adam
	}{{"Adam", optim.NewAdam}, {"AdamW", optim.NewAdamW}} {
		b.Run(bc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			var ps []*autodiff.Var
			total := 0
			for _, n := range resnet18Sizes() {
				data := make([]float32, n)
				for j := range data {
					data[j] = float32(rng.NormFloat64() * 0.05)
				}
				p := param("", data, n)
				for j := range p.Grad.Data {
					p.Grad.Data[j] = float32(rng.NormFloat64() * 1e-3)
				}
				ps = append(ps, p)
				total += n
			}
			opt := bc.make(ps, optim.AdamConfig{LR: 1e-3, WeightDecay: 1e-4})
			opt.Step() // allocate the moment buffers outside the timing
			b.SetBytes(int64(total))
			b.ResetTimer()
			for b.Loop() {
				opt.Step()
			}
		})
	}
}
