package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/internal/atomicfile"
	"github.com/contrastive-go/contrastive/loader"
	"github.com/contrastive-go/contrastive/method"
	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

// Result summarises a finished (or stopped) run.
type Result struct {
	Dir          string   `json:"dir"`
	Epochs       int      `json:"epochs_done"`
	Steps        int      `json:"steps"`
	StepsThisRun int      `json:"steps_this_run"`
	FinalLoss    *float64 `json:"final_loss,omitempty"` // the last step's loss; nil when no step ran
	Seconds      float64  `json:"seconds"`
	ImagesPerSec float64  `json:"images_per_s"`
	KNNTop1      float64  `json:"knn_top1,omitempty"` // the last monitor value, if any
	Stopped      string   `json:"stopped,omitempty"`  // why the run ended early ("max-time", "max-steps", "interrupted", or a hook's reason)
	Params       int      `json:"params"`
	WorldSize    int      `json:"world_size"` // processes that trained it (Options.Comm)
	// CommSeconds is the time this rank waited for the gradient all-reduce after the backward
	// passes (data-parallel runs), and AllReduceBytesPerStep what it handed to it per step.
	CommSeconds           float64 `json:"comm_wait_s,omitempty"`
	AllReduceBytesPerStep int64   `json:"allreduce_bytes_per_step,omitempty"`
}

// Position says where training stands: Epoch is the number of epochs done (the 0-based epoch in
// progress) and Step the number of its batches done; GlobalStep counts optimizer steps since the
// start; Elapsed is the training time of all legs of the run, in seconds; Samples is the size of
// the training data (a resumed run must see the same number).
type Position struct {
	Epoch      int     `json:"epoch"`
	Step       int     `json:"step_in_epoch"`
	GlobalStep int     `json:"global_step"`
	Elapsed    float64 `json:"elapsed_s"`
	Samples    int     `json:"samples,omitempty"`
	WorldSize  int     `json:"world_size,omitempty"` // processes that trained up to here
}

// testLossHook lets tests replace the loss value the loop checks (to inject a NaN).
var testLossHook func(step int, loss float64) float64

// ErrNonFinite is wrapped by the error a run returns when the loss stops being a finite number.
var ErrNonFinite = errors.New("non-finite loss")

// Options supply parts of a run that the configuration cannot describe. Nil fields are built
// from the Config.
type Options struct {
	// Data replaces opening Config.Data: a user's own dataset (Config.Data then only names it in
	// logs and the monitor; set KNNEvery to -1 unless Data is labelled and Config.Data opens its
	// test split).
	Data data.Dataset
	// Views replaces the augmentation preset: one transform per view the method consumes.
	Views []augment.Transform
	// Log receives progress and messages; nil is silent.
	Log io.Writer
	// NoDefaultHooks leaves out the standard hooks (kNN monitor, metrics log, progress,
	// checkpoints): the caller adds its own. Without the checkpoint hook nothing is saved.
	NoDefaultHooks bool
	// Comm makes the run one of Comm.Size() data-parallel processes (dist.Join under mpirun);
	// nil is a single process. Every rank runs the same configuration; Config.BatchSize is the
	// global batch, of which each rank trains its share, and the run is that of one process on
	// the global batch (see dist.go). Rank 0 alone writes the model directory and logs. When Run
	// returns an error that is not a JobError, the other ranks may be waiting for this one: end
	// the job (Comm.Abort).
	Comm dist.Comm
	// AverageAfterBackward averages the gradients after the backward pass instead of in buckets
	// started while it runs (to measure what the overlap gains).
	AverageAfterBackward bool
	// BucketBytes is the size of the gradient buckets (0: dist.DefaultBucketBytes).
	BucketBytes int
}

// Trainer runs the training loop of one run. Build it with New, add hooks with AddHook, then Run
// it. Its exported fields are the run's parts, for hooks to read; they must not be replaced
// after New.
type Trainer struct {
	Config        Config
	Data          data.Dataset
	Model         *models.Model
	Method        method.Method
	Optimizer     optim.Optimizer
	Schedule      optim.Schedule
	Loader        *loader.Loader
	StepsPerEpoch int
	TotalSteps    int
	Log           io.Writer
	Comm          dist.Comm // nil with one process

	hooks     []Hook
	userAt    int // user hooks are inserted here: after the monitor, before the writers
	pos       Position
	stored    *checkpoint
	tape      *autodiff.Tape
	start     time.Time // this leg's start
	elapsed0  float64   // Elapsed of earlier legs
	images    int       // images trained on in this leg
	steps     int       // steps in this leg
	lastLoss  float64
	knn       float64  // the kNN monitor's last score
	mon       *monitor // the kNN monitor; nil when off
	stopWhy   string
	lastSaved time.Time
	fit       fitState           // Config.FitEpochs: the epoch fit in progress (fit.go)
	avg       *dist.GradAverager // data-parallel runs
	commStats dist.Stats
}

// Run trains as cfg says (cfg.Resume continues the run in cfg.Out), with the standard hooks,
// writing the model directory cfg.Out. Progress goes to log (nil: silent).
func Run(ctx context.Context, cfg Config, log io.Writer) (*Result, error) {
	t, err := New(cfg, Options{Log: log})
	if err != nil {
		return nil, err
	}
	return t.Run(ctx)
}

// New prepares a run: it checks the configuration, opens the data, builds the model, the method,
// the optimizer, its schedule and the loader, and with cfg.Resume loads the checkpoint in
// cfg.Out. Nothing is written until Run.
func New(cfg Config, o Options) (*Trainer, error) {
	t := &Trainer{Log: o.Log, tape: autodiff.NewTape(), Comm: o.Comm}
	if !t.rank0() {
		o.Log, t.Log = nil, nil
	}
	err := t.checkRanks(t.setup(cfg, o))
	if err != nil {
		if t.Loader != nil {
			t.Loader.Close()
		}
		return nil, err
	}
	return t, nil
}

// setup is New on this process.
func (t *Trainer) setup(cfg Config, o Options) error {
	if cfg.Resume {
		cp, err := loadCheckpoint(cfg.Out)
		if err != nil {
			return fmt.Errorf("cannot resume: %w", err)
		}
		cfg = inheritAuto(cfg, cp.cfg)
		if err := checkResume(cfg, cp.cfg); err != nil {
			return err
		}
		if cfg.Epochs < cp.pos.Epoch {
			return fmt.Errorf("--epochs %d is fewer than the %d epochs this run has already trained", cfg.Epochs, cp.pos.Epoch)
		}
		t.stored, t.pos = cp, cp.pos
	} else if err := checkFreshDir(cfg.Out, cfg.Overwrite); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Precision == "" {
		cfg.Precision = autodiff.EnvPrecision()
	}
	if err := autodiff.SetConvPrecision(cfg.Precision); err != nil {
		return err
	}
	if n := t.WorldSize(); cfg.BatchSize%n != 0 {
		return fmt.Errorf("--batch-size %d does not divide among the %d processes: give a multiple of %d (it is the global batch, of which each process trains an equal share)", cfg.BatchSize, n, n)
	}
	t.Config = cfg
	if err := t.build(o); err != nil {
		return err
	}
	if !o.NoDefaultHooks { // the monitor on every rank (each embeds its share), the writers on rank 0
		if t.mon = newMonitor(t.Config, t.Data, t.Model.Config.InChannels, o.Log); t.mon != nil {
			t.hooks = append(t.hooks, t.mon.hook())
		}
		t.userAt = len(t.hooks)
		if t.rank0() {
			t.hooks = append(t.hooks, MetricsHook(), ProgressHook(o.Log), CheckpointHook())
		}
	}
	if t.distributed() {
		params := t.Method.Params()
		grads := make([][]float32, len(params))
		for i, p := range params {
			grads[i] = p.Grad.Data
		}
		t.avg = dist.NewGradAverager(t.Comm, grads, o.BucketBytes)
		if !o.AverageAfterBackward {
			t.tape.WatchParams(params, t.avg.Ready)
		}
	}
	return nil
}

// AddHook adds h to the run. User hooks run after the kNN monitor and before the standard
// metrics log, progress and checkpoint hooks, in the order added, so that what they put into an
// event's Metrics is logged.
func (t *Trainer) AddHook(h Hook) {
	t.hooks = append(t.hooks[:t.userAt], append([]Hook{h}, t.hooks[t.userAt:]...)...)
	t.userAt++
}

// Position is where the run stands.
func (t *Trainer) Position() Position { return t.pos }

// Stop asks the run to stop (with a checkpoint) after the current step or epoch; reason is
// reported in Result.Stopped. Hooks call it, for early stopping.
func (t *Trainer) Stop(reason string) {
	if t.stopWhy == "" {
		t.stopWhy = reason
	}
}

// Elapsed is the training time of the run so far, all legs included.
func (t *Trainer) Elapsed() time.Duration {
	return time.Duration((t.elapsed0 + time.Since(t.start).Seconds()) * float64(time.Second))
}

// Run trains until the last epoch ends, a limit is reached, ctx is cancelled (the result then
// says "interrupted") or a hook calls Stop. The standard checkpoint hook saves the run at every
// epoch's end and when it stops early.
func (t *Trainer) Run(ctx context.Context) (res *Result, err error) {
	defer t.Loader.Close()
	t.start, t.elapsed0, t.lastSaved = time.Now(), t.pos.Elapsed, time.Now()
	if err := t.prepareDir(); err != nil {
		return nil, err
	}
	t.startFit()
	defer func() {
		if herr := t.emitEnd(res, err); herr != nil && err == nil {
			res, err = nil, herr
		}
	}()
	for _, h := range t.hooks {
		if h.Start != nil {
			if err := h.Start(t); err != nil {
				return nil, err
			}
		}
	}
	for t.pos.Epoch < t.Config.Epochs {
		if t.distributed() { // every rank must leave at the same epoch
			why, err := t.agree(ctx, nil)
			if err != nil {
				return nil, err
			}
			t.stopWhy = why
		}
		if t.stopWhy != "" {
			break
		}
		if err := t.trainEpoch(ctx); err != nil {
			return nil, err
		}
	}
	return t.result(), nil
}

// prepareDir creates the output directory, removes temporary files a killed run left there and
// writes config.json (rank 0 alone).
func (t *Trainer) prepareDir() error {
	if !t.rank0() {
		return nil
	}
	out := t.Config.Out
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", out, err)
	}
	for _, f := range []string{modeldir.CheckpointFile, modeldir.WeightsFile, modeldir.ConfigFile, modeldir.MetricsFile} {
		atomicfile.RemoveStale(filepath.Join(out, f))
	}
	if t.stored == nil && t.Config.Overwrite {
		os.Remove(filepath.Join(out, modeldir.CheckpointFile)) // a crash before the first save must not resume the old run
	}
	return t.writeConfig()
}

// writeConfig writes config.json: the configuration and the model it resolved to.
func (t *Trainer) writeConfig() error {
	out := t.Config.Out
	cfgJS, _ := json.MarshalIndent(struct {
		Config
		ResolvedModel models.Config `json:"resolved_model"`
		WorldSize     int           `json:"world_size"`
	}{t.Config, t.Model.Config, t.WorldSize()}, "", "  ")
	return WriteFileAtomic(filepath.Join(out, modeldir.ConfigFile), append(cfgJS, '\n'))
}

func (t *Trainer) emitEnd(res *Result, err error) error {
	var first error
	for _, h := range t.hooks {
		if h.End != nil {
			if herr := h.End(t, res, err); herr != nil && first == nil {
				first = herr
			}
		}
	}
	return first
}

// stopReason says why the run must stop before the next step, or "".
func (t *Trainer) stopReason(ctx context.Context) string {
	switch {
	case ctx.Err() != nil:
		return "interrupted"
	case t.stopWhy != "":
		return t.stopWhy
	case t.Config.MaxTime > 0 && time.Since(t.start) >= time.Duration(t.Config.MaxTime):
		return "max-time"
	case t.Config.MaxSteps > 0 && t.pos.GlobalStep >= t.Config.MaxSteps:
		return "max-steps"
	}
	return ""
}

// trainEpoch trains the rest of the epoch in progress and runs the epoch-end hooks.
func (t *Trainer) trainEpoch(ctx context.Context) error {
	it := t.Loader.Epoch(t.pos.Epoch)
	defer it.Close()
	var sum float64
	var n int
	tEpoch := time.Now()
	for {
		if !t.distributed() {
			if why := t.stopReason(ctx); why != "" {
				t.stopWhy = why
				return nil
			}
		}
		b, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			err = fmt.Errorf("epoch %d/%d: %w", t.pos.Epoch+1, t.Config.Epochs, err)
		} else if b.Step < t.pos.Step { // resuming inside an epoch: skip the batches already trained on
			t.Loader.Release(b)
			continue
		}
		if t.distributed() { // the ranks go on, or stop, together
			why, aerr := t.agree(ctx, err)
			if why != "" || aerr != nil {
				t.Loader.Release(b)
				t.stopWhy = why
				return aerr
			}
		}
		if err != nil {
			return err
		}
		ev, err := t.Step(b)
		t.Loader.Release(b)
		if err != nil {
			return err
		}
		t.fitStep()
		sum += ev.Loss
		n++
		for _, h := range t.hooks {
			if h.StepEnd != nil {
				if err := h.StepEnd(t, ev); err != nil {
					return err
				}
			}
		}
	}
	t.pos.Epoch++
	t.pos.Step = 0
	ev := &EpochEnd{Epoch: t.pos.Epoch, GlobalStep: t.pos.GlobalStep, Steps: n, Metrics: map[string]float64{}}
	if n > 0 {
		ev.Loss = sum / float64(n)
		ev.ImagesPerSec = float64(n*t.Config.BatchSize) / time.Since(tEpoch).Seconds() // the global batch
	}
	for _, h := range t.hooks {
		if h.EpochEnd != nil {
			if err := h.EpochEnd(t, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// Step trains on one batch: the forward pass, the loss, the backward pass, the optimizer step at
// the scheduled learning rate, and the method's after-step update. A non-finite loss is an
// error wrapping ErrNonFinite, and nothing is updated.
func (t *Trainer) Step(b *loader.Batch) (*StepEnd, error) {
	tStep := time.Now()
	lr := t.Schedule(t.pos.GlobalStep)
	t.Optimizer.SetLR(lr)
	c, h, w := t.Loader.Shape()
	x := t.tape.Constant(tensor.FromSlice(b.Concat(), b.V()*b.N, c, h, w))
	mb := method.Batch{X: x, V: b.V(), N: b.N, Labels: b.Labels}
	if nl, lh, lw := t.Loader.LocalShape(); nl > 0 {
		mb.Local, mb.L = t.tape.Constant(tensor.FromSlice(b.LocalData, nl*b.N, c, lh, lw)), nl
	}
	l := t.Method.Loss(mb)
	lv := t.globalLoss(float64(l.Item()))
	if testLossHook != nil {
		lv = testLossHook(t.pos.GlobalStep, lv)
	}
	if math.IsNaN(lv) || math.IsInf(lv, 0) {
		t.tape.Reset()
		err := fmt.Errorf("%w: the loss is %v at step %d (epoch %d/%d, batch %d of %d); stopping, the last good checkpoint in %s is kept (try a lower --lr)",
			ErrNonFinite, lv, t.pos.GlobalStep+1, t.pos.Epoch+1, t.Config.Epochs, b.Step+1, t.StepsPerEpoch, t.Config.Out)
		if t.distributed() { // the global loss: every rank stops here
			err = &JobError{err}
		}
		return nil, err
	}
	t.tape.Backward(l)
	t.averageGrads()
	t.Optimizer.Step()
	t.Optimizer.ZeroGrad()
	t.tape.Reset()
	t.pos.GlobalStep++
	t.pos.Step = b.Step + 1
	t.Method.AfterStep(float64(t.pos.GlobalStep) / float64(t.TotalSteps))
	images := b.N * t.WorldSize() // the global batch
	t.images += images
	t.steps++
	t.lastLoss = lv
	return &StepEnd{
		Epoch: t.pos.Epoch + 1, Step: t.pos.Step, GlobalStep: t.pos.GlobalStep,
		Loss: lv, LR: lr, ImagesPerSec: float64(images) / time.Since(tStep).Seconds(),
		Metrics: map[string]float64{},
	}, nil
}

// SaveCheckpoint writes checkpoint.safetensors and model.safetensors (each replaced atomically)
// and runs the checkpoint hooks. On a data-parallel run rank 0 alone writes; on the other ranks
// it does nothing.
func (t *Trainer) SaveCheckpoint() error {
	if !t.rank0() {
		return nil
	}
	t.pos.Elapsed = t.Elapsed().Seconds()
	t.pos.WorldSize = t.WorldSize()
	if err := saveCheckpoint(t.Config.Out, t.Config, t.Method, t.Optimizer, t.pos); err != nil {
		return err
	}
	t.lastSaved = time.Now()
	ev := &CheckpointSaved{Path: filepath.Join(t.Config.Out, modeldir.CheckpointFile), Position: t.pos}
	for _, h := range t.hooks {
		if h.Checkpoint != nil {
			if err := h.Checkpoint(t, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *Trainer) result() *Result {
	res := &Result{Dir: t.Config.Out, Params: t.Model.NumParams(), Epochs: t.pos.Epoch, Steps: t.pos.GlobalStep,
		StepsThisRun: t.steps, Stopped: t.stopWhy, Seconds: time.Since(t.start).Seconds(), KNNTop1: t.knn,
		WorldSize: t.WorldSize(), CommSeconds: t.commStats.Wait.Seconds()}
	if t.steps > 0 && t.distributed() {
		res.AllReduceBytesPerStep = t.commStats.Bytes / int64(t.steps)
	}
	if t.steps > 0 {
		l := t.lastLoss
		res.FinalLoss = &l
	}
	if res.Seconds > 0 {
		res.ImagesPerSec = float64(t.images) / res.Seconds
	}
	return res
}

func round(v float64) float64 { return math.Round(v*100) / 100 }
