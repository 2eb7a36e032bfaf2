package method

import (
	"math"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/nn"
	"github.com/contrastive-go/contrastive/tensor"
)

// TestMoCoV2SplitBNUpdatesRunningStatsOncePerForward checks the query encoder's first
// BatchNorm after one Loss call (two views, each in 4 sub-batches) against the reference
// SplitBatchNorm: one momentum update per view, from the sub-batches' means and unbiased
// variances averaged, and num_batches_tracked advanced by one per view.
func TestMoCoV2SplitBNUpdatesRunningStatsOncePerForward(t *testing.T) {
	s := newMethod(t, "moco-v2", 1).(*MoCoV2)
	const n = 64
	if g := s.groups(n); g != 4 {
		t.Fatalf("groups(%d) = %d, want 4", n, g)
	}
	enc := s.model.Encoder.(*nn.Sequential)
	conv, bn := enc.Layers[0].(*nn.Conv2d), enc.Layers[1].(*nn.BatchNorm)
	// Start from running statistics that are not the defaults, so that the update's form shows.
	for c := range bn.C {
		bn.Mean.Value.Data[c] = 0.3 * float32(c+1)
		bn.Var.Value.Data[c] = 2 + 0.5*float32(c)
	}
	tp := autodiff.NewTape()
	b := randomBatch(tp, n, 3)

	// Expected: per view, the per-channel mean and unbiased variance of conv(x) over each
	// sub-batch of n/4 images, averaged over the sub-batches, then one momentum step.
	rm := make([]float64, bn.C)
	rv := make([]float64, bn.C)
	for c := range bn.C {
		rm[c], rv[c] = float64(bn.Mean.Value.Data[c]), float64(bn.Var.Value.Data[c])
	}
	mom := float64(bn.Momentum)
	ref := autodiff.NewTape()
	for v := range 2 {
		meanAvg := make([]float64, bn.C)
		varAvg := make([]float64, bn.C)
		for i := range 4 {
			lo, hi := v*n+i*n/4, v*n+(i+1)*n/4
			d := b.X.Value.Numel() / (2 * n)
			y := conv.Forward(ref.Constant(tensor.FromSlice(b.X.Value.Data[lo*d:hi*d], hi-lo, 1, 8, 8)))
			sh := y.Shape()
			hw := sh[2] * sh[3]
			cnt := float64(sh[0] * hw)
			for c := range bn.C {
				var s1, s2 float64
				for k := range sh[0] {
					for _, x := range y.Data()[(k*sh[1]+c)*hw : (k*sh[1]+c+1)*hw] {
						s1 += float64(x)
					}
				}
				mu := s1 / cnt
				for k := range sh[0] {
					for _, x := range y.Data()[(k*sh[1]+c)*hw : (k*sh[1]+c+1)*hw] {
						s2 += (float64(x) - mu) * (float64(x) - mu)
					}
				}
				meanAvg[c] += mu / 4
				varAvg[c] += s2 / (cnt - 1) / 4
			}
			ref.Reset()
		}
		for c := range bn.C {
			rm[c] = (1-mom)*rm[c] + mom*meanAvg[c]
			rv[c] = (1-mom)*rv[c] + mom*varAvg[c]
		}
	}
	tracked0 := bn.Tracked.Value.Data[0]
	lossOf(s, b)
	for c := range bn.C {
		if d := math.Abs(float64(bn.Mean.Value.Data[c]) - rm[c]); d > 1e-5*math.Max(1, math.Abs(rm[c])) {
			t.Errorf("running_mean[%d] = %v, want %v", c, bn.Mean.Value.Data[c], rm[c])
		}
		if d := math.Abs(float64(bn.Var.Value.Data[c]) - rv[c]); d > 1e-5*math.Max(1, math.Abs(rv[c])) {
			t.Errorf("running_var[%d] = %v, want %v", c, bn.Var.Value.Data[c], rv[c])
		}
	}
	if got := bn.Tracked.Value.Data[0] - tracked0; got != 2 {
		t.Errorf("num_batches_tracked advanced by %v in one step, want 2 (one per view)", got)
	}
	// The key encoder takes one update per view too.
	kbn := s.key.Encoder.(*nn.Sequential).Layers[1].(*nn.BatchNorm)
	if got := kbn.Tracked.Value.Data[0]; got != 2 {
		t.Errorf("key encoder num_batches_tracked %v after one step, want 2", got)
	}
}
