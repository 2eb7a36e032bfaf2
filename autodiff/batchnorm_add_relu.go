package autodiff

import "github.com/contrastive-go/contrastive/tensor"

// BatchNormAddReLU is ReLU(BatchNorm(x, ...) + short) in one op: a residual block's last
// normalisation, its shortcut sum and its activation (torchvision's BasicBlock). Per channel c,
//
//	z = max(0, γ_c·(x − μ_c)/√(σ²_c + eps) + β_c + short),
//
// with μ, σ² and the running statistics as in BatchNorm. With G = dS/dz·[z > 0], the shortcut's
// gradient is G and x's is BatchNorm's gradient for the output gradient G. The values and
// gradients are those of BatchNorm followed by AddReLU, bit for bit; the normalised tensor is
// never stored (one activation fewer per block) and the backward pass masks the output gradient
// once, for both inputs, channel by channel while it is in cache.
func BatchNormAddReLU(x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32, short *Var) *Var {
	if short == nil {
		panic("autodiff.BatchNormAddReLU: no shortcut (use BatchNorm)")
	}
	return batchNorm("BatchNormAddReLU", x, gamma, beta, runningMean, runningVar, training, momentum, eps, false, short)
}
