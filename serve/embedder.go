package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// EmbedderOptions configure an Embedder.
type EmbedderOptions struct {
	// Size and Channels are the model's input: images are decoded to Channels (1 gray, 3 RGB)
	// and resized to Size×Size.
	Size, Channels int
	// Transform is the evaluation transform applied after decoding (normalisation).
	Transform augment.Transform
	// Projection returns z = head(h) instead of h.
	Projection bool
	// MaxPixels refuses images with more pixels than this before decoding them (default
	// DefaultMaxPixels).
	MaxPixels int
	// MaxBatch is the most images one forward pass takes (default 64). Concurrent requests are
	// gathered into one pass up to this many images.
	MaxBatch int
}

// DefaultMaxPixels is the default limit on an uploaded image's pixels: 4 Mpx (2048×2048), about
// 16 MiB decoded to RGBA and 48 MiB as float32 RGB.
const DefaultMaxPixels = 1 << 22

// Embedder runs a model on images. One goroutine owns the model; Embed calls from many goroutines
// are queued and gathered into batches (micro-batching), so concurrent requests share forward
// passes. It is safe for concurrent use.
type Embedder struct {
	model *models.Model
	opt   EmbedderOptions
	dim   int
	reqs  chan *embedJob
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	batches, images atomic.Uint64 // forward passes and images embedded, for /metrics
}

type embedJob struct {
	imgs []data.Image
	out  []float32 // len(imgs)·dim, filled by the worker
	err  error
	done chan struct{}
}

// NewEmbedder starts an embedder for m. The embedder puts m in evaluation mode and owns it: do
// not use m elsewhere until Close.
func NewEmbedder(m *models.Model, opt EmbedderOptions) (*Embedder, error) {
	if opt.Size < 1 || (opt.Channels != 1 && opt.Channels != 3) {
		return nil, fmt.Errorf("embedder: image size %d and %d channels (want size ≥ 1 and 1 or 3 channels)", opt.Size, opt.Channels)
	}
	if opt.Transform == nil {
		opt.Transform = augment.Compose()
	}
	if opt.MaxPixels <= 0 {
		opt.MaxPixels = DefaultMaxPixels
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 64
	}
	dim := m.FeatureDim
	if opt.Projection {
		dim = m.ProjDim
	}
	m.SetTraining(false)
	e := &Embedder{model: m, opt: opt, dim: dim, reqs: make(chan *embedJob), stop: make(chan struct{}), done: make(chan struct{})}
	go e.loop()
	return e, nil
}

// Dim is the length of the vectors Embed returns.
func (e *Embedder) Dim() int { return e.dim }

// Prepare decodes an uploaded image and applies the evaluation transform. Errors are the
// client's (an undecodable or oversized image) and carry a 4xx status.
func (e *Embedder) Prepare(b []byte) (data.Image, error) {
	img, err := data.DecodeImage(bytes.NewReader(b), data.DecodeOptions{
		Gray: e.opt.Channels == 1, Width: e.opt.Size, Height: e.opt.Size, MaxPixels: e.opt.MaxPixels,
	})
	if err != nil {
		if errors.Is(err, data.ErrTooLarge) {
			return data.Image{}, errorf(http.StatusRequestEntityTooLarge, "%v", err)
		}
		if errors.Is(err, data.ErrUnsupportedFormat) {
			return data.Image{}, errorf(http.StatusUnsupportedMediaType, "the image does not decode: %v", err)
		}
		return data.Image{}, errorf(http.StatusBadRequest, "the image does not decode: %v", err)
	}
	return e.opt.Transform.Apply(img, rand.New(rand.NewPCG(0, 0))), nil
}

var errClosed = errors.New("the embedder is shut down")

// Embed returns the vectors of imgs (prepared by Prepare), row after row. It waits for a batch
// slot, or for ctx.
func (e *Embedder) Embed(ctx context.Context, imgs []data.Image) ([]float32, error) {
	if len(imgs) == 0 {
		return nil, nil
	}
	j := &embedJob{imgs: imgs, done: make(chan struct{})}
	select {
	case e.reqs <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.stop:
		return nil, errClosed
	}
	<-j.done // the worker always finishes a job it has taken
	return j.out, j.err
}

// Close stops the worker after the batch in progress; later Embed calls fail.
func (e *Embedder) Close() {
	e.once.Do(func() { close(e.stop) })
	<-e.done
}

// loop takes a job, gathers the jobs already waiting (up to MaxBatch images) and runs them as
// one forward pass.
func (e *Embedder) loop() {
	defer close(e.done)
	for {
		var first *embedJob
		select {
		case first = <-e.reqs:
		case <-e.stop:
			return
		}
		jobs := []*embedJob{first}
		n := len(first.imgs)
	gather:
		for n < e.opt.MaxBatch {
			select {
			case j := <-e.reqs:
				jobs = append(jobs, j)
				n += len(j.imgs)
			default:
				break gather
			}
		}
		e.run(jobs, n)
	}
}

// run embeds the images of jobs in one pass (or one pass per job when a batch's images differ
// in size) and signals every job.
func (e *Embedder) run(jobs []*embedJob, n int) {
	defer func() {
		for _, j := range jobs {
			close(j.done)
		}
	}()
	var imgs []data.Image
	for _, j := range jobs {
		imgs = append(imgs, j.imgs...)
	}
	out, err := e.forward(imgs)
	if err != nil {
		for _, j := range jobs {
			j.err = err
		}
		return
	}
	off := 0
	for _, j := range jobs {
		j.out = out[off*e.dim : (off+len(j.imgs))*e.dim : (off+len(j.imgs))*e.dim]
		off += len(j.imgs)
	}
	e.batches.Add(1)
	e.images.Add(uint64(n))
}

// forward runs the model on imgs, which must all have one size; a panic in the model becomes an
// error.
func (e *Embedder) forward(imgs []data.Image) (out []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the model failed: %v", r)
		}
	}()
	c, h, w := imgs[0].C, imgs[0].H, imgs[0].W
	chw := c * h * w
	x := tensor.New(len(imgs), c, h, w)
	for i, im := range imgs {
		if im.C != c || im.H != h || im.W != w {
			return nil, fmt.Errorf("images of different sizes in one batch (%dx%dx%d and %dx%dx%d)", c, h, w, im.C, im.H, im.W)
		}
		copy(x.Data[i*chw:], im.Pix)
	}
	tp := autodiff.NewTape()
	tp.NoGrad = true
	v := e.model.Encode(tp.Constant(x))
	if e.opt.Projection {
		v = e.model.Project(v)
	}
	if s := v.Shape(); len(s) != 2 || s[0] != len(imgs) || s[1] != e.dim {
		return nil, fmt.Errorf("the model returned shape %v, want [%d %d]", s, len(imgs), e.dim)
	}
	return append([]float32(nil), v.Data()...), nil
}
