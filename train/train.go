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
	"github.com/contrastive-go/contrastive/loader"
	"github.com/contrastive-go/contrastive/method"
	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/nn"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

// Result summarises a finished (or stopped) run.
type Result struct {
	Dir          string  `json:"dir"`
	Epochs       int     `json:"epochs_done"`
	Steps        int     `json:"steps"`
	FinalLoss    float64 `json:"final_loss"`
	Seconds      float64 `json:"seconds"`
	ImagesPerSec float64 `json:"images_per_s"`
	KNNTop1      float64 `json:"knn_top1,omitempty"` // the last monitor value, if any
	Stopped      string  `json:"stopped,omitempty"`  // why the run ended early ("max-time", "max-steps", "interrupted")
	Params       int     `json:"params"`
}

// testLossHook lets tests replace the loss value the loop checks (to inject a NaN).
var testLossHook func(step int, loss float64) float64

// ErrNonFinite is wrapped by the error a run returns when the loss stops being a finite number.
var ErrNonFinite = errors.New("non-finite loss")

// Run trains as cfg says, writing the model directory cfg.Out. With resume it continues the run
// found there exactly where its last checkpoint left it. Progress goes to log (nil: silent).
func Run(ctx context.Context, cfg Config, resume bool, log io.Writer) (*Result, error) {
	start := time.Now()
	var cp *checkpoint
	if resume {
		var err error
		if cp, err = loadCheckpoint(cfg.Out); err != nil {
			return nil, fmt.Errorf("cannot resume: %w", err)
		}
		// The stored configuration wins, except where the user asks for more time or epochs.
		epochs, maxTime, maxSteps := cfg.Epochs, cfg.MaxTime, cfg.MaxSteps
		cfg = cp.cfg
		if epochs > cfg.Epochs {
			cfg.Epochs = epochs
		}
		cfg.MaxTime, cfg.MaxSteps = maxTime, maxSteps
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fac, _ := method.Lookup(cfg.Method)
	mcfg := cfg.Model
	if fac.Adjust != nil {
		fac.Adjust(&mcfg)
	}
	channels := mcfg.InChannels
	if channels == 0 {
		channels = 1
		if mcfg.Name == models.ResNet18Name || mcfg.Name == models.ResNet18CIFARName {
			channels = 3
		}
	}
	ds, err := data.OpenForModel(cfg.Data, data.ModelOptions{Channels: channels, Size: cfg.ImageSize, SkipBad: cfg.SkipBad}, log)
	if err != nil {
		return nil, err
	}
	if fac.NeedsLabels && ds.Classes() == nil {
		return nil, fmt.Errorf("method %s needs labels, but %s is unlabelled", cfg.Method, cfg.Data)
	}
	first, err := ds.Get(0)
	if err != nil {
		return nil, err
	}
	if mcfg.Name == models.MLPName && mcfg.InputDim == 0 {
		mcfg.InputDim = len(first.Image.Pix)
	}
	if mcfg.Name != models.MLPName {
		// Build the encoder for the images the data gives (a ResNet defaults to RGB, but IDX
		// and CIFAR-style readers return their own channel count), or say why not.
		if mcfg.InChannels == 0 {
			mcfg.InChannels = first.Image.C
		} else if mcfg.InChannels != first.Image.C {
			return nil, fmt.Errorf("model %s takes %d-channel images, but %s gives %d-channel images", mcfg.Name, mcfg.InChannels, cfg.Data, first.Image.C)
		}
	}
	size := first.Image.H
	if first.Image.H != first.Image.W && mcfg.Name != models.MLPName {
		return nil, fmt.Errorf("images of %s are %dx%d; pass --image-size to train on square crops", cfg.Data, first.Image.W, first.Image.H)
	}
	views, err := augment.Preset(cfg.Augment, size, first.Image.C)
	if err != nil {
		return nil, err
	}
	if len(views) != fac.Views {
		return nil, fmt.Errorf("augmentation %s gives %d views, method %s needs %d", cfg.Augment, len(views), cfg.Method, fac.Views)
	}
	model, err := models.Build(mcfg, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("building the model: %w", err)
	}
	meth, err := fac.New(model, method.Config{Temperature: cfg.Temperature, QueueSize: cfg.QueueSize, Momentum: cfg.EMAMomentum, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	opt := newOptimizer(cfg, meth.Params())
	ld, err := loader.New(ds, views, loader.Options{BatchSize: cfg.BatchSize, Workers: cfg.Workers, Prefetch: 3, DropLast: true, Shuffle: true, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	defer ld.Close()
	stepsPerEpoch := ld.Len()
	if stepsPerEpoch == 0 {
		return nil, fmt.Errorf("%s has %d samples, fewer than one batch of %d", cfg.Data, ds.Len(), cfg.BatchSize)
	}
	totalSteps := stepsPerEpoch * cfg.Epochs
	warmup := int(cfg.Warmup * float64(stepsPerEpoch))
	sched := optim.Constant(cfg.LR)
	if cfg.Schedule == "cosine" {
		sched = optim.Cosine(warmup, totalSteps, cfg.LR, 0)
	}

	pos := position{}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", cfg.Out, err)
	}
	if cp != nil {
		if err := nn.LoadStateDict(model, cp.model); err != nil {
			return nil, fmt.Errorf("checkpoint in %s does not fit the model: %w", cfg.Out, err)
		}
		if err := opt.LoadState(cp.optim); err != nil {
			return nil, fmt.Errorf("checkpoint optimizer state: %w", err)
		}
		if err := meth.LoadState(cp.method); err != nil {
			return nil, fmt.Errorf("checkpoint method state: %w", err)
		}
		pos = cp.pos
	} else if _, err := os.Stat(filepath.Join(cfg.Out, modeldir.CheckpointFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a run; pass --resume to continue it or choose another --out", cfg.Out)
	}
	cfgJS, _ := json.MarshalIndent(struct {
		Config
		ResolvedModel models.Config `json:"resolved_model"`
	}{cfg, model.Config}, "", "  ")
	if err := WriteFileAtomic(filepath.Join(cfg.Out, modeldir.ConfigFile), append(cfgJS, '\n')); err != nil {
		return nil, err
	}
	metrics, err := openMetrics(filepath.Join(cfg.Out, modeldir.MetricsFile), pos.GlobalStep)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()

	mon := newMonitor(cfg, ds, channels, log)
	prog := NewProgress(log)
	if log != nil {
		fmt.Fprintf(log, "training %s on %s: %d images, %d steps/epoch × %d epochs, model %s (%d parameters, h %d-d)\n",
			cfg.Method, cfg.Data, ds.Len(), stepsPerEpoch, cfg.Epochs, mcfg.Name, model.NumParams(), model.FeatureDim)
	}
	res := &Result{Dir: cfg.Out, Params: model.NumParams()}
	tp := autodiff.NewTape()
	c, h, w := ld.Shape()
	lastSave := time.Now()
	elapsed0 := pos.Elapsed
	runStart := time.Now()
	imagesDone := 0
	save := func() error {
		pos.Elapsed = elapsed0 + time.Since(runStart).Seconds()
		lastSave = time.Now()
		return saveCheckpoint(cfg.Out, cfg, meth, opt, pos)
	}
	stop := func(why string) (*Result, error) {
		prog.Done()
		if err := save(); err != nil {
			return nil, err
		}
		res.Stopped = why
		return finish(res, pos, start, imagesDone), nil
	}
	for pos.Epoch < cfg.Epochs {
		it := ld.Epoch(pos.Epoch)
		var epochLoss float64
		var epochSteps int
		tEpoch := time.Now()
		for {
			if err := ctx.Err(); err != nil {
				it.Close()
				return stop("interrupted")
			}
			if cfg.MaxTime > 0 && time.Since(start) >= time.Duration(cfg.MaxTime) {
				it.Close()
				return stop("max-time")
			}
			if cfg.MaxSteps > 0 && pos.GlobalStep >= cfg.MaxSteps {
				it.Close()
				return stop("max-steps")
			}
			b, err := it.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				it.Close()
				return nil, fmt.Errorf("epoch %d: %w", pos.Epoch, err)
			}
			if b.Step < pos.Step { // resuming inside an epoch: skip the batches already trained on
				ld.Release(b)
				continue
			}
			tStep := time.Now()
			lr := sched(pos.GlobalStep)
			opt.SetLR(lr)
			x := tp.Constant(tensor.FromSlice(b.Concat(), b.V()*b.N, c, h, w))
			l := meth.Loss(method.Batch{X: x, V: b.V(), N: b.N, Labels: b.Labels})
			lv := float64(l.Item())
			if testLossHook != nil {
				lv = testLossHook(pos.GlobalStep, lv)
			}
			if math.IsNaN(lv) || math.IsInf(lv, 0) {
				tp.Reset()
				ld.Release(b)
				it.Close()
				prog.Done()
				return nil, fmt.Errorf("%w: the loss is %v at step %d (epoch %d, batch %d); stopping, the last good checkpoint in %s is kept (try a lower --lr)", ErrNonFinite, lv, pos.GlobalStep, pos.Epoch, b.Step, cfg.Out)
			}
			tp.Backward(l)
			opt.Step()
			opt.ZeroGrad()
			tp.Reset()
			pos.GlobalStep++
			pos.Step = b.Step + 1
			meth.AfterStep(float64(pos.GlobalStep) / float64(totalSteps))
			imagesDone += b.N
			ld.Release(b)
			epochLoss += lv
			epochSteps++
			ips := float64(cfg.BatchSize) / time.Since(tStep).Seconds()
			if cfg.LogEvery > 0 && pos.GlobalStep%cfg.LogEvery == 0 {
				metrics.Write(map[string]any{"step": pos.GlobalStep, "epoch": pos.Epoch, "loss": lv, "lr": lr, "images_per_s": round(ips), "elapsed_s": round(elapsed0 + time.Since(runStart).Seconds())})
			}
			prog.Update(Status{Epoch: pos.Epoch + 1, Epochs: cfg.Epochs, Step: pos.GlobalStep, Steps: totalSteps, Loss: lv, LR: lr, ImagesPerSecond: ips}, false)
			res.FinalLoss = lv
			if cfg.CheckpointEvery > 0 && time.Since(lastSave) >= time.Duration(cfg.CheckpointEvery) {
				if err := save(); err != nil {
					return nil, err
				}
			}
		}
		it.Close()
		pos.Epoch++
		pos.Step = 0
		line := map[string]any{"epoch_end": pos.Epoch, "step": pos.GlobalStep, "elapsed_s": round(elapsed0 + time.Since(runStart).Seconds())}
		if epochSteps > 0 {
			line["epoch_loss"] = epochLoss / float64(epochSteps)
			line["epoch_images_per_s"] = round(float64(epochSteps*cfg.BatchSize) / time.Since(tEpoch).Seconds())
		}
		msg := fmt.Sprintf("epoch %d/%d done: loss %.4f", pos.Epoch, cfg.Epochs, line["epoch_loss"])
		if mon != nil && (pos.Epoch == cfg.Epochs || (cfg.KNNEvery > 0 && pos.Epoch%cfg.KNNEvery == 0)) {
			acc, err := mon.knn(model)
			if err != nil {
				return nil, err
			}
			line["knn_top1"] = acc
			res.KNNTop1 = acc
			msg += fmt.Sprintf(", monitor kNN top-1 %.4f", acc)
		}
		metrics.Write(line)
		prog.Println(msg)
		if err := save(); err != nil {
			return nil, err
		}
	}
	prog.Done()
	return finish(res, pos, start, imagesDone), nil
}

func finish(res *Result, pos position, start time.Time, images int) *Result {
	res.Epochs = pos.Epoch
	res.Steps = pos.GlobalStep
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.ImagesPerSec = float64(images) / res.Seconds
	}
	return res
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

func newOptimizer(cfg Config, params []*autodiff.Var) optim.Optimizer {
	switch cfg.Optimizer {
	case "sgd":
		return optim.NewSGD(params, optim.SGDConfig{LR: cfg.LR, Momentum: orDefault(cfg.Momentum, 0.9), WeightDecay: cfg.WeightDecay})
	case "lars":
		return optim.NewLARS(params, optim.LARSConfig{LR: cfg.LR, Momentum: orDefault(cfg.Momentum, 0.9), WeightDecay: cfg.WeightDecay})
	case "adamw":
		return optim.NewAdamW(params, optim.AdamConfig{LR: cfg.LR, WeightDecay: cfg.WeightDecay})
	default:
		return optim.NewAdam(params, optim.AdamConfig{LR: cfg.LR, WeightDecay: cfg.WeightDecay})
	}
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}
