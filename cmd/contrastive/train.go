package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/contrastive-go/contrastive/dist"
	"github.com/contrastive-go/contrastive/method"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/train"
)

func init() {
	register("train", "pretrain an encoder without labels (SimCLR, MoCo, BYOL, ...)", runTrain)
}

// trainFlags binds the training flags to cfg. The model flags fill cfg.Model.
type trainFlags struct {
	cfg                        train.Config
	model, head                string
	channels, strides          intList
	poolGrid, projDim, projHid int
	predHid                    int
	maxTime, ckptEvery         time.Duration
	resume, jsonOut            bool
	configFile                 string
}

func bindTrainFlags(fs *flag.FlagSet) *trainFlags {
	t := &trainFlags{cfg: train.Default()}
	c := &t.cfg
	d := train.Default()
	fs.StringVar(&c.Method, "method", d.Method, "method: "+strings.Join(method.Names(), "|"))
	fs.StringVar(&t.model, "model", train.Auto, "encoder: auto (chosen from the data, printed at the start) | reference (DESIGN.md's CNN, exactly) | "+strings.Join(models.EncoderNames, "|")+"; small-cnn defaults to the recipe for small grayscale images")
	fs.Var(checkedList{&t.channels, positiveInt}, "channels", "encoder widths, comma-separated (small-cnn: per conv layer; resnet: per stage)")
	fs.Var(checkedList{&t.strides, positiveInt}, "strides", "small-cnn conv strides, comma-separated")
	intFlag(fs, &t.poolGrid, "pool-grid", 0, positiveInt, "small-cnn features h: 1 = global average pool, g > 1 = average-pool to g×g and flatten (default 2)")
	fs.StringVar(&t.head, "head", "", "projection head: mlp2|mlp2-bn|mlp3-bn|linear|none (default mlp2)")
	intFlag(fs, &t.projHid, "proj-hidden", 0, positiveInt, "projection head hidden width (default: the width of h; 512 in the recipe)")
	intFlag(fs, &t.projDim, "proj-dim", 0, positiveInt, "projection (z) width (default 64; 128 for resnet and the recipe)")
	intFlag(fs, &t.predHid, "pred-hidden", 0, positiveInt, "predictor hidden width, for the methods with a predictor (default: the method's)")
	fs.StringVar(&c.Data, "data", d.Data, "dataset: fashion-mnist[:test], an image folder, a CSV/.npy file, IDX or CIFAR files")
	intFlag(fs, &c.Epochs, "epochs", d.Epochs, positiveInt, "epochs to train (on --resume: the run's new length)")
	intFlag(fs, &c.BatchSize, "batch-size", d.BatchSize, atLeast(2), "images per step (each gives two views)")
	fs.StringVar(&c.Optimizer, "optimizer", d.Optimizer, "adam|adamw|sgd|lars")
	floatFlag(fs, &c.LR, "lr", d.LR, positiveFloat, "base learning rate")
	floatFlag(fs, &c.WeightDecay, "weight-decay", d.WeightDecay, nonNegFloat, "weight decay")
	floatFlag(fs, &c.SGDMomentum, "sgd-momentum", 0, openUnit, "SGD/LARS momentum (default 0.9)")
	fs.StringVar(&c.Schedule, "schedule", d.Schedule, "learning-rate schedule after warm-up: cosine|constant")
	floatFlag(fs, &c.Warmup, "warmup-epochs", d.Warmup, nonNegFloat, "linear warm-up length in epochs (at most --epochs)")
	floatFlag(fs, &c.Temperature, "temperature", d.Temperature, positiveFloat, "NT-Xent/InfoNCE temperature τ")
	fs.StringVar(&c.Augment, "augment", d.Augment, "augmentation preset: "+strings.Join(train.AugmentNames(), "|"))
	fs.StringVar(&c.SyncBN, "sync-bn", d.SyncBN, "BatchNorm under mpirun: "+strings.Join(train.SyncBNValues, "|")+" (auto: statistics over the global batch when several processes train, as on: on; off: over each process's share)")
	fs.StringVar(&c.Precision, "precision", d.Precision, "the convolutions' products: fp32|bf16 (bf16: bfloat16 operands, float32 sums and weights; CPUs with AVX512_BF16 such as Zen 4 or Sapphire Rapids, about 1.3-1.5x faster steps; default: $CONTRASTIVE_PRECISION, else fp32)")
	intFlag(fs, &c.ImageSize, "image-size", 0, between(1, train.MaxImageSize), "resize image files to this square size (default: the data's own size)")
	fs.StringVar(&c.Out, "out", d.Out, "model directory to write (on --resume: the run to continue)")
	fs.BoolVar(&t.resume, "resume", false, "continue the run in --out from its last checkpoint, with its stored configuration")
	fs.BoolVar(&c.Overwrite, "overwrite", false, "replace the model, metrics and checkpoint that --out already holds")
	fs.Uint64Var(&c.Seed, "seed", d.Seed, "random seed (initialisation, order, augmentations)")
	durationFlag(fs, &t.maxTime, "max-time", 0, positiveDur, "stop (with a checkpoint) after this long, e.g. 20m")
	durationFlag(fs, &t.ckptEvery, "checkpoint-every", 10*time.Minute, positiveDur, "also checkpoint at this interval inside an epoch")
	fs.BoolVar(&c.SkipBad, "skip-bad", false, "skip unreadable images (listed in a summary) instead of failing")
	intFlag(fs, &c.Workers, "workers", 0, nonNegInt, "augmentation goroutines (0: one per core)")
	intFlag(fs, &c.KNNEvery, "knn-every", d.KNNEvery, atLeast(-1), "kNN monitor every N epochs (0: after the last epoch only, -1: never)")
	intFlag(fs, &c.MonitorSize, "monitor-size", d.MonitorSize, positiveInt, "images in the kNN monitor's memory bank and queries, each")
	intFlag(fs, &c.LogEvery, "log-every", d.LogEvery, positiveInt, "write a metrics.jsonl line every this many steps")
	intFlag(fs, &c.QueueSize, "queue-size", 0, positiveInt, "MoCo queue length (default 4096)")
	floatFlag(fs, &c.EMAMomentum, "ema-momentum", 0, openUnit, "MoCo/BYOL base momentum of the target encoder (default 0.99)")
	floatFlag(fs, &c.Lambda, "lambda", 0, positiveFloat, "Barlow Twins off-diagonal weight λ (default 0.0051)")
	intFlag(fs, &c.Prototypes, "prototypes", 0, atLeast(2), "SwAV prototypes / DINO output width (default 300 / 1024)")
	intFlag(fs, &c.LocalCrops, "local-crops", 0, nonNegInt, "multi-crop: local views per image besides the two global ones (simclr, swav, dino)")
	intFlag(fs, &c.LocalSize, "local-size", 0, positiveInt, "multi-crop: local view side in pixels (default 3/7 of the image size)")
	intFlag(fs, &c.MaxSteps, "max-steps", 0, positiveInt, "stop after this many steps in total")
	fs.BoolVar(&t.jsonOut, "json", false, "print the result as JSON on stdout")
	fs.StringVar(&t.configFile, "config", "", "YAML or JSON file whose keys are these flag names (flags given on the command line win)")
	return t
}

// resolve copies the model flags into the configuration. base, when not nil, is the model of
// the run being resumed: the model flags given then apply on top of it (so repeating one of the
// original flags changes nothing), unless --model names another encoder.
func (t *trainFlags) resolve(base *models.Config, given map[string]bool) {
	t.cfg.MaxTime = train.Duration(t.maxTime)
	t.cfg.CheckpointEvery = train.Duration(t.ckptEvery)
	var m models.Config
	switch t.model {
	case "reference": // the reference CNN of DESIGN.md, exactly (the PyTorch peer's model)
		m = models.Reference()
	case models.SmallCNNName: // the recipe, with any model flag given overriding it
		m = train.RecipeModel()
	default:
		m = models.Config{Name: t.model}
	}
	if base != nil && (!given["model"] || m.Name == base.Name && t.model != "reference") {
		m = *base
	}
	if len(t.channels) > 0 {
		m.Channels = t.channels
	}
	if len(t.strides) > 0 {
		m.Strides = t.strides
	}
	if t.poolGrid > 0 {
		m.PoolGrid = t.poolGrid
	}
	if t.head != "" {
		m.Head.Kind = t.head
	}
	if t.projHid > 0 {
		m.Head.Hidden = t.projHid
	}
	if t.projDim > 0 {
		m.Head.Out = t.projDim
	}
	if t.predHid > 0 {
		m.Predictor = &models.HeadConfig{Kind: models.HeadMLP2BN, Hidden: t.predHid}
	}
	t.cfg.Model = m
}

// modelFlags are the flags that make up the model configuration ("model" in config.json).
var modelFlags = []string{"model", "channels", "strides", "pool-grid", "head", "proj-hidden", "proj-dim"}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", "train --method simclr --data PATH|fashion-mnist --out DIR [flags]", stderr)
	t := bindTrainFlags(fs)
	if err := parse(fs, args); err != nil {
		if launcherRank() > 0 { // under mpirun every rank has the same flags: rank 0 says it
			return silentExit{2}
		}
		return err
	}
	if t.configFile != "" {
		if err := applyConfigFile(fs, t.configFile); err != nil {
			return err
		}
	}
	comm, err := joinJob()
	if err != nil {
		return err
	}
	defer comm.Close()
	if err := trainWith(comm, t, fs, stdout, stderr); err != nil {
		return rankExit(comm, err, stderr)
	}
	return nil
}

// trainWith runs the train command as one rank of comm (dist.Local: alone).
func trainWith(comm dist.Comm, t *trainFlags, fs *flag.FlagSet, stdout, stderr io.Writer) error {
	cfg, err := t.config(fs)
	if comm.Size() > 1 { // a rank that cannot read the run to resume stops them all
		if err := dist.FirstError(comm, err); err != nil {
			return &train.JobError{Err: err}
		}
	}
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	tr, err := train.New(cfg, train.Options{Log: stderr, Comm: comm})
	if err != nil {
		return err
	}
	res, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	stopped := interruption(ctx, res)
	if comm.Size() > 1 && res.Stopped == "interrupted" { // every rank stopped: the same status on all
		stopped = jobInterruption(comm, ctx, res)
	}
	if comm.Rank() != 0 { // rank 0 reports the run
		return stopped
	}
	if t.jsonOut {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "trained %s: %s\nmodel directory: %s\n", cfg.Method, summary(res), res.Dir)
	}
	return stopped
}

// config is the run's configuration: the flags, or on --resume the stored run with the flags
// given applied.
func (t *trainFlags) config(fs *flag.FlagSet) (train.Config, error) {
	given := setFlags(fs)
	cfg := t.cfg
	if !t.resume {
		t.resolve(nil, given)
		if given["max-time"] && !given["epochs"] {
			t.cfg.FitEpochs, t.cfg.Epochs = true, train.MaxFitEpochs
		}
		cfg = t.cfg
	} else {
		if cfg.Overwrite {
			return train.Config{}, fmt.Errorf("--resume continues the run in --out and --overwrite replaces it: give one of them")
		}
		stored, err := train.StoredConfig(cfg.Out)
		if err != nil {
			return train.Config{}, fmt.Errorf("cannot resume: %w", err)
		}
		t.resolve(&stored.Model, given)
		for _, f := range modelFlags {
			given["model"] = given["model"] || given[f]
		}
		if cfg, err = train.ResumeConfig(t.cfg, func(f string) bool { return given[f] }); err != nil {
			return train.Config{}, err
		}
	}
	return cfg, nil
}

// summary is a one-line account of a training result.
func summary(res *train.Result) string {
	s := fmt.Sprintf("%d epochs, %d steps", res.Epochs, res.Steps)
	if res.StepsThisRun == 0 {
		s += ", no step trained in this run"
	} else {
		s += fmt.Sprintf(" (%d in this run) in %s (%.0f images/s), final loss %.4f", res.StepsThisRun, train.FormatDuration(time.Duration(res.Seconds*float64(time.Second))), res.ImagesPerSec, *res.FinalLoss)
	}
	if res.KNNTop1 > 0 {
		s += fmt.Sprintf(", monitor kNN top-1 %.4f", res.KNNTop1)
	}
	if res.Stopped != "" {
		s += fmt.Sprintf(" (stopped: %s; continue with --resume)", res.Stopped)
	}
	return s
}
