package autodiff

import (
	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/tensor"
)

// SyncBatchNormAnyRanks runs SyncBatchNorm's all-reduce path even on one rank, so that tests
// compare it with BatchNorm without MPI.
func SyncBatchNormAnyRanks(c dist.Comm, x, gamma, beta *Var, rm, rv *tensor.Tensor, momentum, eps float32, relu bool) *Var {
	return syncBatchNorm("SyncBatchNorm", c, x, gamma, beta, rm, rv, momentum, eps, relu)
}
