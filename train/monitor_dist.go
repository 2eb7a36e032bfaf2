package train

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/infer"
	"github.com/contrastive-go/contrastive/models"
)

// knnSharded is the kNN monitor on several ranks: rank r embeds the r-th contiguous share of the
// memory bank and of the queries, the bank's shares are gathered on every rank, each rank
// scores its own queries against the whole bank, and the ranks sum their correct answers; so
// each spends about 1/N of the time one process on one core would, and every rank gets the
// score one process computes (each query's neighbours do not depend on the other queries). The
// model embedded is rank 0's: its BatchNorm running statistics (per rank when BatchNorm is not
// synchronised) are lent to every rank for the embedding. A rank that cannot embed or score its
// share stops every rank with a JobError.
func (m *monitor) knnSharded(t *Trainer) (float64, error) {
	c := t.Comm
	restore := lendRankZeroBuffers(c, t.Model)
	bank, err := embedShare(c, t.Model, m, m.bank)
	var q *infer.Result
	if err == nil {
		q, err = embedShare(c, t.Model, m, m.queries)
	}
	restore()
	if err := dist.FirstError(c, err); err != nil {
		return 0, &JobError{fmt.Errorf("kNN monitor: %w", err)}
	}
	bank = gatherShares(c, bank, m.bank.Len())
	var correct float64
	if q.N > 0 {
		var acc float64
		acc, err = m.score(bank, q)
		correct = math.Round(acc * float64(q.N))
	}
	if err := dist.FirstError(c, err); err != nil {
		return 0, &JobError{err}
	}
	sum := []float64{correct}
	c.AllReduce64(sum)
	return sum[0] / float64(m.queries.Len()), nil
}

// hash identifies the monitor (none, or the sizes of its bank and queries) for the ranks'
// start check: every rank must hold the same one, or the sharded monitor would wait for a rank
// that has none.
func (m *monitor) hash() [sha256.Size]byte {
	if m == nil {
		return sha256.Sum256(nil)
	}
	return sha256.Sum256([]byte(fmt.Sprintf("knn %d %d", m.bank.Len(), m.queries.Len())))
}

// share returns the bounds of rank r's contiguous share of n items among size ranks.
func share(n, r, size int) (lo, hi int) { return r * n / size, (r + 1) * n / size }

// embedShare embeds this rank's share of ds. It does not call c.
func embedShare(c dist.Comm, model *models.Model, m *monitor, ds data.Dataset) (*infer.Result, error) {
	lo, hi := share(ds.Len(), c.Rank(), c.Size())
	if lo == hi {
		return &infer.Result{}, nil
	}
	idx := make([]int, hi-lo)
	for i := range idx {
		idx[i] = lo + i
	}
	return infer.Embed(model, data.Subset(ds, idx), m.transform, infer.Options{})
}

// gatherShares gathers every rank's share (this rank's: mine, rows lo … hi−1 of n) and returns
// the n rows with their labels in order, on every rank. Every rank must call it; the feature
// width travels with the data (shares may be empty on a rank).
func gatherShares(c dist.Comm, mine *infer.Result, n int) *infer.Result {
	size := c.Size()
	per := (n + size - 1) / size // the largest share
	d := []float64{0}
	if mine != nil {
		d[0] = float64(mine.D)
	}
	dims := make([]float64, size)
	dims[c.Rank()] = d[0]
	c.AllReduce64(dims)
	width := 0
	for _, v := range dims {
		width = max(width, int(v))
	}
	stride := per * (width + 1) // per row: the label, then the features
	buf := make([]float32, stride)
	if mine != nil {
		for i := range mine.N {
			buf[i*(width+1)] = float32(mine.Labels[i])
			copy(buf[i*(width+1)+1:(i+1)*(width+1)], mine.Data[i*mine.D:(i+1)*mine.D])
		}
	}
	all := make([]float32, size*stride)
	c.AllGather(all, buf)
	out := &infer.Result{N: n, D: width, Data: make([]float32, n*width), Labels: make([]int, n)}
	for r := range size {
		lo, hi := share(n, r, size)
		for i := lo; i < hi; i++ {
			row := all[r*stride+(i-lo)*(width+1):]
			out.Labels[i] = int(row[0])
			copy(out.Data[i*width:(i+1)*width], row[1:width+1])
		}
	}
	return out
}

// lendRankZeroBuffers replaces the model's floating-point buffers (BatchNorm running statistics)
// by rank 0's and returns the function that puts this rank's back.
func lendRankZeroBuffers(c dist.Comm, model *models.Model) func() {
	var saved [][]float32
	var flat []float32
	bufs := model.Buffers()
	for _, b := range bufs {
		if !b.Int {
			saved = append(saved, append([]float32(nil), b.Value.Data...))
			flat = append(flat, b.Value.Data...)
		}
	}
	raw := make([]byte, 4*len(flat))
	for i, v := range flat {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	c.Broadcast(raw, 0)
	k := 0
	for _, b := range bufs {
		if b.Int {
			continue
		}
		for i := range b.Value.Data {
			b.Value.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
			k++
		}
	}
	return func() {
		j := 0
		for _, b := range bufs {
			if !b.Int {
				copy(b.Value.Data, saved[j])
				j++
			}
		}
	}
}
