// Package method holds the self-supervised methods: each turns a batch of augmented views into a
// loss and does its own after-step work (momentum-encoder EMA, queue updates).
//
// Every method has a constructor (NewSimCLR, NewMoCoV2, NewBYOL, ...) taking the model and a
// Config, and is registered by name for the CLI. Adding a method is one file that implements
// Method and registers a Factory in its init:
//
//	func init() {
//		Register("simclr", Factory{New: func(m *models.Model, cfg Config) (Method, error) { return NewSimCLR(m, cfg) }})
//	}
package method

import (
	"fmt"
	"sort"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// Batch is one training batch: V views of N images stacked view-major in X, [V·N, C, H, W]
// (rows i, i+N, i+2N, ... are views of image i), entered as a constant on the step's tape.
// With multi-crop, Local holds L more views of each image at their own (smaller) size,
// [L·N, C, h, w], view-major as X; methods whose Factory.MultiCrop is false never get any.
type Batch struct {
	X      *autodiff.Var
	V, N   int
	Labels []int // per image (len N); -1 where unknown
	Local  *autodiff.Var
	L      int
}

// View returns view v of the batch, [N, C, H, W].
func (b Batch) View(v int) *autodiff.Var { return autodiff.Slice(b.X, 0, v*b.N, (v+1)*b.N) }

// Method is a self-supervised (or supervised contrastive) training objective with its state.
type Method interface {
	// Loss runs the forward pass on a batch and returns the scalar loss on b.X's tape.
	Loss(b Batch) *autodiff.Var
	// Params are the trainable parameters the optimizer updates.
	Params() []*autodiff.Var
	// AfterStep runs after each optimizer step; progress is the fraction of training done, in
	// [0, 1] (momentum schedules use it).
	AfterStep(progress float64)
	// Model is the online model: its encoder is what is evaluated and exported.
	Model() *models.Model
	// State and LoadState carry what a checkpoint needs beyond the online model and the optimizer
	// (momentum encoders, queues), keyed by name.
	State() map[string]*tensor.Tensor
	LoadState(map[string]*tensor.Tensor) error
}

// Config holds the hyper-parameters the methods share. Zero values pick each method's default.
type Config struct {
	Temperature float64 // NT-Xent / InfoNCE / SupCon τ
	QueueSize   int     // MoCo v2: negatives kept in the queue (default 4096)
	EMAMomentum float64 // MoCo / BYOL: base EMA momentum of the target (key) encoder (default 0.99)
	Lambda      float64 // Barlow Twins off-diagonal weight (default 0.0051)
	Sigma       float64 // DCLW: temperature of the positive-pair weighting (default 0.5)
	Prototypes  int     // SwAV: number of prototypes; DINO: output width K
	Seed        uint64
	// Comm is the communicator of a data-parallel job; nil (or one rank) is a single process.
	// With several ranks each rank's Batch is its share of the global batch, every in-batch loss
	// sees the global batch and Loss returns this rank's part of it: the mean of the ranks'
	// losses is the global batch's loss, the mean of their gradients its gradient (see
	// dataparallel.go for each method).
	Comm dist.Comm
	// LocalBN keeps BatchNorm statistics per rank when Comm has several ranks; by default they
	// are synchronised over the global batch (SyncBN). MoCo v2 always keeps them per rank.
	LocalBN bool
}

// Factory builds a method around a model built from a configuration the method may adjust
// first (for example, to add a predictor).
type Factory struct {
	// Adjust changes the model configuration the method needs; nil for none.
	Adjust func(cfg *models.Config)
	// New builds the method around the model.
	New func(m *models.Model, cfg Config) (Method, error)
	// NeedsLabels is true for supervised objectives.
	NeedsLabels bool
	// Views is the number of views per image the method consumes (2 for all current methods).
	Views int
	// MultiCrop is true for methods that use multi-crop's local views (Batch.Local).
	MultiCrop bool
	// DataParallel is true for methods that train on several ranks (Config.Comm), their
	// in-batch terms over the global batch (dataparallel.go). New refuses a Comm of several
	// ranks for the others, rather than silently computing each rank's loss on its own share.
	DataParallel bool
}

var registry = map[string]Factory{}

// Register makes a method available by name; it panics on a duplicate name.
func Register(name string, f Factory) {
	if _, dup := registry[name]; dup {
		panic("method.Register: duplicate method " + name)
	}
	if f.Views == 0 {
		f.Views = 2
	}
	if !f.DataParallel && f.New != nil {
		inner := f.New
		f.New = func(m *models.Model, cfg Config) (Method, error) {
			if cfg.Comm != nil && cfg.Comm.Size() > 1 {
				return nil, fmt.Errorf("%s does not support data-parallel training yet (%d processes): run it in one process", name, cfg.Comm.Size())
			}
			return inner(m, cfg)
		}
	}
	registry[name] = f
}

// Names lists the registered methods, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the factory of a method, or an error listing the known ones.
func Lookup(name string) (Factory, error) {
	f, ok := registry[name]
	if !ok {
		return Factory{}, fmt.Errorf("unknown method %q (known: %v)", name, Names())
	}
	return f, nil
}
