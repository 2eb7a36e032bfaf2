package loader

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/contrastive-go/contrastive/augment"
)

// Iter yields the batches of one epoch in order. Workers prepare up to Options.Prefetch batches
// ahead of Next. An Iter is used by one goroutine; Close may be called at any time, more than
// once.
type Iter struct {
	l     *Loader
	epoch int
	ready chan *pending // batches in order, as dispatched
	sem   chan struct{} // one token per batch dispatched and not yet returned by Next
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	err   error
}

// pending is a batch whose chunks workers are filling.
type pending struct {
	b         *Batch
	remaining atomic.Int32
	done      chan struct{} // closed when every chunk has finished
	mu        sync.Mutex
	err       error
}

func (p *pending) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

func (p *pending) finishChunk() {
	if p.remaining.Add(-1) == 0 {
		close(p.done)
	}
}

// job is a range [lo, hi) of a pending batch's images.
type job struct {
	p      *pending
	lo, hi int
}

// Epoch starts producing the batches of epoch e.
func (l *Loader) Epoch(e int) *Iter {
	it := &Iter{
		l:     l,
		epoch: e,
		ready: make(chan *pending, l.opt.Prefetch),
		sem:   make(chan struct{}, l.opt.Prefetch),
		quit:  make(chan struct{}),
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		it.err = ErrClosed
		close(it.quit)
		close(it.ready)
		return it
	}
	l.open[it] = struct{}{}
	l.mu.Unlock()

	jobs := make(chan job, 4*l.opt.Workers)
	it.wg.Add(1 + l.opt.Workers)
	go it.dispatch(jobs)
	for range l.opt.Workers {
		go it.work(jobs)
	}
	return it
}

// dispatch assigns indices to batches and cuts them into chunks for the workers.
func (it *Iter) dispatch(jobs chan<- job) {
	defer it.wg.Done()
	defer close(jobs)
	defer close(it.ready)
	l := it.l
	order := l.Order(it.epoch)
	nb, bs := l.Len(), l.opt.BatchSize
	chunk := max(1, min(64, (bs+4*l.opt.Workers-1)/(4*l.opt.Workers)))
	for k := 0; k < nb; k++ {
		select {
		case it.sem <- struct{}{}:
		case <-it.quit:
			return
		}
		glo := k * bs
		lo, hi := l.part(glo, min((k+1)*bs, len(order)))
		b := l.getBatch(hi - lo)
		b.Epoch, b.Step, b.Offset = it.epoch, k, lo-glo
		copy(b.Indices, order[lo:hi])
		p := &pending{b: b, done: make(chan struct{})}
		p.remaining.Store(int32((b.N + chunk - 1) / chunk))
		if b.N == 0 { // a partial batch with fewer images than shards
			close(p.done)
		}
		it.ready <- p // never blocks: at most Prefetch batches hold tokens
		for c := 0; c < b.N; c += chunk {
			select {
			case jobs <- job{p, c, min(c+chunk, b.N)}:
			case <-it.quit:
				return
			}
		}
	}
}

// work runs the view pipelines on chunks until the epoch ends or the Iter closes.
func (it *Iter) work(jobs <-chan job) {
	defer it.wg.Done()
	l := it.l
	pcg := rand.NewPCG(0, 0)
	rng := rand.New(pcg)
	var scratch augment.Scratch
	chw := l.c * l.h * l.w
	for {
		var j job
		var ok bool
		select {
		case <-it.quit:
			return
		case j, ok = <-jobs:
			if !ok {
				return
			}
		}
		b := j.p.b
		for i := j.lo; i < j.hi; i++ {
			if i > j.lo && i%8 == 0 && it.stopped() {
				break
			}
			if err := it.fill(b, i, chw, pcg, rng, &scratch); err != nil {
				j.p.fail(err)
				break
			}
		}
		j.p.finishChunk()
	}
}

func (it *Iter) stopped() bool {
	select {
	case <-it.quit:
		return true
	default:
		return false
	}
}

// fill reads image i of b and writes its views.
func (it *Iter) fill(b *Batch, i, chw int, pcg *rand.PCG, rng *rand.Rand, s *augment.Scratch) error {
	l := it.l
	idx := b.Indices[i]
	smp, err := l.ds.Get(idx)
	if err != nil {
		return fmt.Errorf("loader: reading sample %d: %w", idx, err)
	}
	b.Labels[i], b.IDs[i] = smp.Label, smp.ID
	for v, t := range l.views {
		augment.Reseed(pcg, l.opt.Seed, it.epoch, idx, v)
		dst := b.Views[v][i*chw : (i+1)*chw]
		out := augment.ApplyTo(t, dst, smp.Image, rng, s)
		if out.C != l.c || out.H != l.h || out.W != l.w {
			return fmt.Errorf("loader: sample %d (%s), view %d: transform made a %dx%dx%d image, batches hold %dx%dx%d",
				idx, smp.ID, v, out.C, out.H, out.W, l.c, l.h, l.w)
		}
		if len(out.Pix) == 0 || &out.Pix[0] != &dst[0] {
			copy(dst, out.Pix)
		}
	}
	lchw := l.c * l.lh * l.lw
	for j, t := range l.opt.Local {
		augment.Reseed(pcg, l.opt.Seed, it.epoch, idx, len(l.views)+j)
		dst := b.Local[j][i*lchw : (i+1)*lchw]
		out := augment.ApplyTo(t, dst, smp.Image, rng, s)
		if out.C != l.c || out.H != l.lh || out.W != l.lw {
			return fmt.Errorf("loader: sample %d (%s), local view %d: transform made a %dx%dx%d image, batches hold %dx%dx%d",
				idx, smp.ID, j, out.C, out.H, out.W, l.c, l.lh, l.lw)
		}
		if len(out.Pix) == 0 || &out.Pix[0] != &dst[0] {
			copy(dst, out.Pix)
		}
	}
	return nil
}

// Next returns the next batch, io.EOF after the last one, or the first error met in reading or
// transforming a sample (after which it keeps returning that error). Hand batches back with
// Loader.Release when done with them.
func (it *Iter) Next() (*Batch, error) {
	if it.err != nil {
		return nil, it.err
	}
	select {
	case <-it.quit:
		return nil, ErrClosed
	default:
	}
	var p *pending
	var ok bool
	select {
	case p, ok = <-it.ready:
	case <-it.quit:
		it.err = ErrClosed
		return nil, it.err
	}
	if !ok {
		it.err = io.EOF
		return nil, io.EOF
	}
	select {
	case <-p.done:
	case <-it.quit:
		it.err = ErrClosed
		return nil, it.err
	}
	<-it.sem
	if p.err != nil {
		it.err = p.err
		it.l.Release(p.b)
		return nil, it.err
	}
	return p.b, nil
}

// Close stops the epoch's goroutines and waits for them to exit.
func (it *Iter) Close() {
	it.once.Do(func() {
		select {
		case <-it.quit:
		default:
			close(it.quit)
		}
		it.wg.Wait()
		for p := range it.ready {
			select {
			case <-p.done:
				it.l.Release(p.b)
			default: // abandoned half-filled: let the garbage collector have it
			}
		}
		it.l.mu.Lock()
		delete(it.l.open, it)
		it.l.mu.Unlock()
	})
}
