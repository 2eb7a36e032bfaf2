package method

import (
	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/models"
)

// splitForward runs g forward passes of m, forward(0) … forward(g−1) (one per BatchNorm sub-batch
// of split BatchNorm), and returns their outputs. The running statistics of m's BatchNorm layers
// take one momentum update per call, from the sub-batches' statistics averaged, as the reference
// SplitBatchNorm of the official MoCo CIFAR demo does (it normalises the g splits as g×C
// channels of one batch_norm call and then sets running_mean and running_var to the mean over
// the splits):
//
//	running ← (1/g) Σ_s [(1−μ)·running₀ + μ·stat_s] = (1−μ)·running₀ + μ·(1/g) Σ_s stat_s
//
// with μ the BatchNorm momentum and stat_s sub-batch s's mean or unbiased variance. Each
// sub-batch's forward starts from the same running₀, and the results are averaged;
// num_batches_tracked advances by one per call. Without this each sub-batch would be a
// momentum step of its own (g per call), and the running statistics that evaluation uses would
// follow the last few small sub-batches.
func splitForward(m *models.Model, g int, forward func(i int) *autodiff.Var) []*autodiff.Var {
	out := make([]*autodiff.Var, g)
	if g == 1 {
		out[0] = forward(0)
		return out
	}
	bufs := m.Buffers()
	start := make([][]float32, len(bufs))
	sum := make([][]float64, len(bufs))
	for i, b := range bufs {
		start[i] = append([]float32(nil), b.Value.Data...)
		sum[i] = make([]float64, len(start[i]))
	}
	for s := range g {
		for i, b := range bufs {
			copy(b.Value.Data, start[i])
		}
		out[s] = forward(s)
		for i, b := range bufs {
			for j, v := range b.Value.Data {
				sum[i][j] += float64(v)
			}
		}
	}
	for i, b := range bufs {
		for j := range b.Value.Data {
			b.Value.Data[j] = float32(sum[i][j] / float64(g))
		}
	}
	return out
}
