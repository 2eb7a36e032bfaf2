package method

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// shuffledKeys returns the keys of the n images of x from row off (one view), computed by the key
// encoder on shuffled sub-batches of g images, and the keys of the whole batch for the queue.
//
// In one process that is keys with a permutation drawn from rng. On several ranks it is MoCo's
// shuffle BN across GPUs (the reference's _batch_shuffle_ddp / _batch_unshuffle_ddp): the view's
// images are gathered from every rank, rank 0's permutation of the global batch (drawn from rng,
// which every rank advances alike) is broadcast, rank r encodes its share of the permuted batch —
// groups r·g … (r+1)·g−1 of the size·g sub-batches, so its BatchNorm statistics mix every rank's
// images — the keys are gathered and un-permuted, and each rank keeps those of its own images.
// The result equals one process running the global batch with size·g groups.
func (s *MoCoV2) shuffledKeys(tp *autodiff.Tape, x *tensor.Tensor, off, n, g int, rng *rand.Rand) (*autodiff.Var, *tensor.Tensor) {
	if !s.dp.on() {
		k := s.keys(tp, x, off, n, g, rng.Perm(n))
		return k, k.Value
	}
	c := s.dp.comm
	size, rank, d := c.Size(), c.Rank(), s.key.ProjDim
	per := tensor.Numel(x.Shape[1:])
	total := size * n
	xs := tp.Alloc(false, append([]int{total}, x.Shape[1:]...)...)
	c.AllGather(xs.Data, x.Data[off*per:(off+n)*per])
	perm := broadcastPerm(s, rng.Perm(total))

	groups := size * g
	shuffled := tp.Alloc(false, n, d) // keys of perm[rank·n … (rank+1)·n−1], in that order
	for i := rank * g; i < (rank+1)*g; i++ {
		lo, hi := i*total/groups, (i+1)*total/groups
		kg := s.key.Forward(tp.Constant(rowsOf(tp, xs, perm[lo:hi]))).Value.Data
		copy(shuffled.Data[(lo-rank*n)*d:], kg[:(hi-lo)*d])
	}
	gathered := tp.Alloc(false, total, d) // row j: the key of image perm[j]
	c.AllGather(gathered.Data, shuffled.Data)
	all := tp.Alloc(false, total, d)
	for j, p := range perm {
		copy(all.Data[p*d:(p+1)*d], gathered.Data[j*d:(j+1)*d])
	}
	mine := tp.Alloc(false, n, d)
	copy(mine.Data, all.Data[rank*n*d:(rank+1)*n*d])
	return tp.Constant(mine), all
}

// broadcastPerm replaces perm by rank 0's.
func broadcastPerm(s *MoCoV2, perm []int) []int {
	buf := make([]byte, 4*len(perm))
	for i, p := range perm {
		binary.LittleEndian.PutUint32(buf[4*i:], uint32(p))
	}
	s.dp.comm.Broadcast(buf, 0)
	for i := range perm {
		perm[i] = int(binary.LittleEndian.Uint32(buf[4*i:]))
	}
	return perm
}
