package dist

import (
	"fmt"
	"time"
)

// DefaultBucketBytes is the bucket size of NewGradAverager when none is given: 25 MB, PyTorch
// DDP's bucket_cap_mb. The reference model's 117,664 gradients (460 KB) fit in one bucket;
// ResNet-18's 11.2 M (45 MB) take two.
const DefaultBucketBytes = 25 << 20

// GradAverager averages gradients over the ranks of a communicator — g ← (1/N) Σ_r g_r, the
// data-parallel update — in buckets: the gradients are packed, in reverse order (the order a
// backward pass finishes them), into flat buffers of about bucketBytes, and each bucket is
// all-reduced in one call. Buckets can start while the backward pass still runs: call Ready(i)
// when gradient i is final (autodiff.Tape.WatchParams tells when), and Wait at the end; or call
// Average after the backward pass. Buckets are launched in bucket order whatever the order of the
// Ready calls, so every rank issues the same all-reduces in the same order.
//
// The gradient slices must stay the same from step to step (a parameter's Grad.Data) and must
// not be written between Ready(i) and the end of Wait.
type GradAverager struct {
	comm    Comm
	grads   [][]float32
	buckets []*bucket
	of      []int // bucket of each gradient
	offset  []int // offset of each gradient in its bucket
	ready   []bool
	next    int // next bucket to launch
	stats   Stats
}

type bucket struct {
	members []int
	flat    []float32
	pending int // members not yet ready this step
	req     *Request
}

// Stats describe the communication since the last call of GradAverager.Stats.
type Stats struct {
	// Bytes is what this rank handed to the all-reduce (4 bytes per gradient; a ring all-reduce
	// sends and receives 2(N−1)/N of it).
	Bytes int64
	// Buckets is the number of all-reduce calls.
	Buckets int
	// Wait is the time Wait (or Average) spent blocked on unfinished all-reduces, and Copy the
	// time spent packing and unpacking the buckets.
	Wait, Copy time.Duration
}

// NewGradAverager prepares the buckets for grads (bucketBytes ≤ 0: DefaultBucketBytes). A
// gradient larger than a bucket gets a bucket of its own.
func NewGradAverager(c Comm, grads [][]float32, bucketBytes int) *GradAverager {
	if bucketBytes <= 0 {
		bucketBytes = DefaultBucketBytes
	}
	a := &GradAverager{comm: c, grads: grads, of: make([]int, len(grads)), offset: make([]int, len(grads)), ready: make([]bool, len(grads))}
	var cur *bucket
	for i := len(grads) - 1; i >= 0; i-- {
		n := len(grads[i])
		if cur == nil || (len(cur.flat) > 0 && 4*(len(cur.flat)+n) > bucketBytes) {
			cur = &bucket{}
			a.buckets = append(a.buckets, cur)
		}
		a.of[i], a.offset[i] = len(a.buckets)-1, len(cur.flat)
		cur.members = append(cur.members, i)
		cur.flat = append(cur.flat, make([]float32, n)...)
	}
	for _, b := range a.buckets {
		b.pending = len(b.members)
	}
	return a
}

// Buckets returns the number of buckets.
func (a *GradAverager) Buckets() int { return len(a.buckets) }

// Ready marks gradient i final for this step: it is copied into its bucket, and every bucket
// whose gradients are all ready, in bucket order, starts its all-reduce.
func (a *GradAverager) Ready(i int) {
	if a.comm.Size() == 1 {
		return
	}
	if a.ready[i] {
		panic(fmt.Sprintf("dist.GradAverager: gradient %d marked ready twice in one step", i))
	}
	t0 := time.Now()
	a.ready[i] = true
	b := a.buckets[a.of[i]]
	copy(b.flat[a.offset[i]:], a.grads[i])
	b.pending--
	a.stats.Copy += time.Since(t0)
	for a.next < len(a.buckets) && a.buckets[a.next].pending == 0 {
		nb := a.buckets[a.next]
		nb.req = a.comm.IAllReduce(nb.flat)
		a.stats.Bytes += 4 * int64(len(nb.flat))
		a.stats.Buckets++
		a.next++
	}
}

// Wait marks every gradient not yet ready, waits for all the buckets and writes the averages
// back into the gradients. It ends the step.
func (a *GradAverager) Wait() {
	if a.comm.Size() == 1 {
		return
	}
	for i, r := range a.ready {
		if !r {
			a.Ready(i)
		}
	}
	inv := 1 / float32(a.comm.Size())
	for _, b := range a.buckets {
		t0 := time.Now()
		b.req.Wait()
		t1 := time.Now()
		a.stats.Wait += t1.Sub(t0)
		for _, i := range b.members {
			g, f := a.grads[i], b.flat[a.offset[i]:]
			for j := range g {
				g[j] = f[j] * inv
			}
		}
		a.stats.Copy += time.Since(t1)
		b.req, b.pending = nil, len(b.members)
	}
	clear(a.ready)
	a.next = 0
}

// Average is Wait without any Ready call before it: all the buckets after the backward pass.
func (a *GradAverager) Average() { a.Wait() }

// Stats returns the communication since its last call and starts counting anew.
func (a *GradAverager) Stats() Stats {
	s := a.stats
	a.stats = Stats{}
	return s
}
