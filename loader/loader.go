// Package loader turns a data.Dataset into ready float32 NCHW batches of augmented views for
// contrastive training, as PyTorch's DataLoader with a two-view collate does for SimCLR (Chen et
// al. 2020) and its successors: it shuffles once per epoch (seeded), batches, runs the view
// pipelines on worker goroutines a bounded number of batches ahead of the trainer, and reuses
// batch memory the trainer hands back.
//
// Every view of every sample draws its randomness from augment.SampleRNG(Seed, epoch, index,
// view), so a batch's bytes depend only on the options, the epoch and the dataset, never on the
// number of workers or on scheduling.
//
//	views, _ := augment.Preset("small-gray", 28, 1)
//	ld, _ := loader.New(train, views, loader.Options{BatchSize: 256, Shuffle: true, Seed: 1})
//	defer ld.Close()
//	for b, err := range ld.All(epoch) {
//		if err != nil { return err }
//		step(b.Concat(), 2*b.N, b.C, b.H, b.W) // rows i and i+N are positives
//		ld.Release(b)
//	}
package loader

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/data"
)

// Options configures a Loader. The zero value means batches of 256, GOMAXPROCS workers, two
// batches of prefetch, no shuffling, and a final partial batch.
type Options struct {
	BatchSize int    // images per batch (each gives one row per view); default 256
	Workers   int    // goroutines running the augmentations; default GOMAXPROCS
	Prefetch  int    // batches prepared ahead of the consumer; default 2
	DropLast  bool   // drop the final batch when it holds fewer than BatchSize images
	Shuffle   bool   // visit the samples in a new seeded order each epoch
	Seed      uint64 // seeds the order and every augmentation
	// Local are the pipelines of extra views whose size may differ from the main views' (the
	// local views of multi-crop, augment.LocalViews); they all share one shape. Local view j of
	// a sample draws its randomness as view len(views)+j. Default none.
	Local []augment.Transform
	// Shards > 1 makes this loader one of Shards data-parallel ranks, Shard ∈ [0, Shards) its
	// rank: every batch then holds only the shard's equal contiguous part of the global batch of
	// BatchSize images, images Shard·BatchSize/Shards … (Shard+1)·BatchSize/Shards − 1 of it,
	// with the same order, the same views and the same augmentation seeds as the unsharded
	// loader's, so the shards' parts concatenated in shard order are the unsharded batch, and a
	// run does not depend on how many ranks share it. BatchSize must divide by Shards; a final
	// partial batch (without DropLast) is split as evenly as contiguous parts allow.
	Shard, Shards int
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("loader: closed")

// Batch is V augmented views of N images. Views[v] holds view v of every image as an N×C×H×W
// float32 tensor; the views lie one after the other in Data, so Data is the [V·N, C, H, W]
// tensor with views stacked view-major: rows i and i+N (and i+2N, ...) are views of the same
// image, as SimCLR's NT-Xent expects.
type Batch struct {
	Views      [][]float32
	Data       []float32
	N, C, H, W int
	// Local holds the local views (Options.Local) as Views does the main ones: Local[j] is an
	// N×C×LH×LW tensor, and LocalData the [L·N, C, LH, LW] tensor of all of them, view-major.
	Local     [][]float32
	LocalData []float32
	LH, LW    int
	Labels    []int    // Labels[i] is image i's label (-1 when unlabelled)
	Indices   []int    // Indices[i] is image i's index in the dataset
	IDs       []string // IDs[i] is image i's data.Sample ID
	Epoch     int
	Step      int // the batch's position in its epoch
	// Offset is the position of image 0 in the global batch (Options.Shards): 0 unsharded.
	Offset int

	released bool
}

// Concat returns the [V·N, C, H, W] tensor of all views, view-major (no copy).
func (b *Batch) Concat() []float32 { return b.Data }

// V returns the number of views.
func (b *Batch) V() int { return len(b.Views) }

// Loader produces augmented batches from a dataset. Its methods are safe for concurrent use,
// but each epoch's Iter belongs to one goroutine.
type Loader struct {
	ds      data.Dataset
	views   []augment.Transform
	opt     Options
	c, h, w int
	lh, lw  int // local views' size

	mu     sync.Mutex
	free   []*Batch
	open   map[*Iter]struct{}
	closed bool
}

// New returns a loader that makes len(views) views of every sample of ds, view v with views[v].
// It runs every view on sample 0 once to learn the output shape, which all views must share.
func New(ds data.Dataset, views []augment.Transform, opt Options) (*Loader, error) {
	if ds == nil || ds.Len() == 0 {
		return nil, errors.New("loader.New: empty dataset")
	}
	if len(views) == 0 {
		return nil, errors.New("loader.New: no views")
	}
	if opt.BatchSize == 0 {
		opt.BatchSize = 256
	}
	if opt.Workers == 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Prefetch == 0 {
		opt.Prefetch = 2
	}
	if opt.BatchSize < 0 || opt.Workers < 0 || opt.Prefetch < 0 || opt.Shards < 0 {
		return nil, fmt.Errorf("loader.New: negative option in %+v", opt)
	}
	if opt.Shards == 0 {
		opt.Shards = 1
	}
	if opt.Shard < 0 || opt.Shard >= opt.Shards {
		return nil, fmt.Errorf("loader.New: shard %d outside [0, %d)", opt.Shard, opt.Shards)
	}
	if opt.BatchSize%opt.Shards != 0 {
		return nil, fmt.Errorf("loader.New: a batch of %d images does not split into %d equal shards: give a batch size that is a multiple of %d", opt.BatchSize, opt.Shards, opt.Shards)
	}
	l := &Loader{ds: ds, views: views, opt: opt, open: map[*Iter]struct{}{}}
	s, err := ds.Get(0)
	if err != nil {
		return nil, fmt.Errorf("loader.New: reading sample 0: %w", err)
	}
	var scratch augment.Scratch
	for v, t := range views {
		out := augment.ApplyTo(t, nil, s.Image, augment.SampleRNG(opt.Seed, -1, 0, v), &scratch)
		if v == 0 {
			l.c, l.h, l.w = out.C, out.H, out.W
		} else if out.C != l.c || out.H != l.h || out.W != l.w {
			return nil, fmt.Errorf("loader.New: view %d makes %dx%dx%d images, view 0 makes %dx%dx%d",
				v, out.C, out.H, out.W, l.c, l.h, l.w)
		}
	}
	for j, t := range opt.Local {
		out := augment.ApplyTo(t, nil, s.Image, augment.SampleRNG(opt.Seed, -1, 0, len(views)+j), &scratch)
		if j == 0 {
			l.lh, l.lw = out.H, out.W
		}
		if out.C != l.c || out.H != l.lh || out.W != l.lw {
			return nil, fmt.Errorf("loader.New: local view %d makes %dx%dx%d images, want %dx%dx%d (the channels of view 0, the size of local view 0)",
				j, out.C, out.H, out.W, l.c, l.lh, l.lw)
		}
	}
	if opt.DropLast && ds.Len() < opt.BatchSize {
		return nil, fmt.Errorf("loader.New: %d samples make no full batch of %d", ds.Len(), opt.BatchSize)
	}
	return l, nil
}

// Shape returns the C, H, W of every view.
func (l *Loader) Shape() (c, h, w int) { return l.c, l.h, l.w }

// LocalShape returns the number of local views and their H, W (0, 0, 0 without local views).
func (l *Loader) LocalShape() (n, h, w int) { return len(l.opt.Local), l.lh, l.lw }

// Options returns the options in use, defaults filled in.
func (l *Loader) Options() Options { return l.opt }

// Len returns the number of batches in an epoch.
func (l *Loader) Len() int {
	n, b := l.ds.Len(), l.opt.BatchSize
	if l.opt.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// part returns the shard's part [lo, hi) of the global batch [lo, hi).
func (l *Loader) part(lo, hi int) (int, int) {
	n, s, k := hi-lo, l.opt.Shard, l.opt.Shards
	return lo + s*n/k, lo + (s+1)*n/k
}

// Order returns the order in which epoch e visits the dataset's indices.
func (l *Loader) Order(e int) []int {
	n := l.ds.Len()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if !l.opt.Shuffle {
		return order
	}
	// Our own Fisher–Yates on a PCG stream (Lemire's bounded draw), so the order never depends on
	// the standard library's choice of algorithm.
	pcg := rand.NewPCG(augment.SampleSeed(l.opt.Seed^0x5bd1e9955bd1e995, e, -1, -1))
	for i := n - 1; i > 0; i-- {
		hi, _ := bits.Mul64(pcg.Uint64(), uint64(i+1))
		j := int(hi)
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// Release hands a batch back for reuse. The batch must not be used afterwards; releasing it
// twice is harmless.
func (l *Loader) Release(b *Batch) {
	if b == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b.released {
		return
	}
	b.released = true
	if len(l.free) < l.opt.Prefetch+l.opt.Workers+2 {
		l.free = append(l.free, b)
	}
}

// getBatch returns a batch for n images, reused when possible.
func (l *Loader) getBatch(n int) *Batch {
	V, chw := len(l.views), l.c*l.h*l.w
	full := l.opt.BatchSize / l.opt.Shards // a partial batch's part holds no more: ⌈n/Shards⌉ ≤ BatchSize/Shards
	l.mu.Lock()
	var b *Batch
	if k := len(l.free); k > 0 {
		b = l.free[k-1]
		l.free = l.free[:k-1]
		b.released = false
	}
	l.mu.Unlock()
	L, lchw := len(l.opt.Local), l.c*l.lh*l.lw
	if b == nil || cap(b.Data) < V*full*chw || cap(b.LocalData) < L*full*lchw {
		b = &Batch{
			Data:      make([]float32, V*full*chw),
			Views:     make([][]float32, V),
			LocalData: make([]float32, L*full*lchw),
			Local:     make([][]float32, L),
			Labels:    make([]int, full),
			Indices:   make([]int, full),
			IDs:       make([]string, full),
		}
	}
	b.N, b.C, b.H, b.W, b.LH, b.LW = n, l.c, l.h, l.w, l.lh, l.lw
	b.Data = b.Data[:V*n*chw]
	for v := range b.Views {
		b.Views[v] = b.Data[v*n*chw : (v+1)*n*chw]
	}
	b.LocalData = b.LocalData[:L*n*lchw]
	for j := range b.Local {
		b.Local[j] = b.LocalData[j*n*lchw : (j+1)*n*lchw]
	}
	b.Labels, b.Indices, b.IDs = b.Labels[:n], b.Indices[:n], b.IDs[:n]
	return b
}

// All returns the batches of epoch e as an iterator; stopping the loop early stops the workers.
// After an error the iteration ends.
func (l *Loader) All(e int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		it := l.Epoch(e)
		defer it.Close()
		for {
			b, err := it.Next()
			if err == io.EOF {
				return
			}
			if !yield(b, err) || err != nil {
				return
			}
		}
	}
}

// Close stops the workers of every open epoch and waits for them to exit.
func (l *Loader) Close() error {
	l.mu.Lock()
	l.closed = true
	its := make([]*Iter, 0, len(l.open))
	for it := range l.open {
		its = append(its, it)
	}
	l.mu.Unlock()
	for _, it := range its {
		it.Close()
	}
	return nil
}
