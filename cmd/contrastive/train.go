package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/contrastive-go/contrastive/augment"
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
	maxTime, ckptEvery         time.Duration
	resume, jsonOut            bool
	configFile                 string
}

func bindTrainFlags(fs *flag.FlagSet) *trainFlags {
	t := &trainFlags{cfg: train.Default()}
	c := &t.cfg
	d := train.Default()
	fs.StringVar(&c.Method, "method", d.Method, "method: "+strings.Join(method.Names(), "|"))
	fs.StringVar(&t.model, "model", "small-cnn", "encoder: reference (DESIGN.md's CNN, exactly) | "+strings.Join(models.EncoderNames, "|")+"; small-cnn defaults to the recipe for small grayscale images")
	fs.Var(&t.channels, "channels", "encoder widths, comma-separated (small-cnn: per conv layer; resnet: per stage)")
	fs.Var(&t.strides, "strides", "small-cnn conv strides, comma-separated")
	fs.IntVar(&t.poolGrid, "pool-grid", 0, "small-cnn features h: 1 = global average pool, g > 1 = average-pool to g×g and flatten")
	fs.StringVar(&t.head, "head", "", "projection head: mlp2|mlp2-bn|mlp3-bn|linear|none (default mlp2)")
	fs.IntVar(&t.projHid, "proj-hidden", 0, "projection head hidden width (default: the width of h)")
	fs.IntVar(&t.projDim, "proj-dim", 0, "projection (z) width (default 64; 128 for resnet)")
	fs.StringVar(&c.Data, "data", d.Data, "dataset: fashion-mnist[:test], an image folder, a CSV/.npy file, IDX or CIFAR files")
	fs.IntVar(&c.Epochs, "epochs", d.Epochs, "epochs to train")
	fs.IntVar(&c.BatchSize, "batch-size", d.BatchSize, "images per step (each gives two views)")
	fs.StringVar(&c.Optimizer, "optimizer", d.Optimizer, "adam|adamw|sgd|lars")
	fs.Float64Var(&c.LR, "lr", d.LR, "base learning rate")
	fs.Float64Var(&c.WeightDecay, "weight-decay", d.WeightDecay, "weight decay")
	fs.StringVar(&c.Schedule, "schedule", d.Schedule, "learning-rate schedule after warm-up: cosine|constant")
	fs.Float64Var(&c.Warmup, "warmup-epochs", d.Warmup, "linear warm-up length in epochs")
	fs.Float64Var(&c.Temperature, "temperature", d.Temperature, "NT-Xent/InfoNCE temperature τ")
	fs.StringVar(&c.Augment, "augment", d.Augment, "augmentation preset: "+strings.Join(augment.Presets(), "|"))
	fs.IntVar(&c.ImageSize, "image-size", 0, "resize image files to this square size (0: keep)")
	fs.StringVar(&c.Out, "out", d.Out, "model directory to write")
	fs.BoolVar(&t.resume, "resume", false, "continue the run in --out from its last checkpoint")
	fs.Uint64Var(&c.Seed, "seed", d.Seed, "random seed (initialisation, order, augmentations)")
	fs.DurationVar(&t.maxTime, "max-time", 0, "stop (with a checkpoint) after this long, e.g. 20m")
	fs.DurationVar(&t.ckptEvery, "checkpoint-every", 10*time.Minute, "also checkpoint at this interval inside an epoch")
	fs.BoolVar(&c.SkipBad, "skip-bad", false, "skip unreadable images (listed in a summary) instead of failing")
	fs.IntVar(&c.Workers, "workers", 0, "augmentation goroutines (0: one per core)")
	fs.IntVar(&c.KNNEvery, "knn-every", d.KNNEvery, "kNN monitor every N epochs (0: after the last epoch only, -1: never)")
	fs.IntVar(&c.QueueSize, "queue-size", 0, "MoCo queue length (default 4096)")
	fs.Float64Var(&c.EMAMomentum, "ema-momentum", 0, "MoCo/BYOL base momentum of the target encoder (default 0.99)")
	fs.IntVar(&c.MaxSteps, "max-steps", 0, "stop after this many steps in total (0: no limit)")
	fs.BoolVar(&t.jsonOut, "json", false, "print the result as JSON on stdout")
	fs.StringVar(&t.configFile, "config", "", "YAML or JSON file whose keys are these flag names (flags given on the command line win)")
	return t
}

// resolve copies the model flags into the configuration.
func (t *trainFlags) resolve() {
	t.cfg.MaxTime = train.Duration(t.maxTime)
	t.cfg.CheckpointEvery = train.Duration(t.ckptEvery)
	var m models.Config
	switch t.model {
	case "reference": // the reference CNN of DESIGN.md, exactly (the PyTorch peer's model)
		m = models.Reference()
	case models.SmallCNNName: // the recipe, with any model flag given overriding it
		m = train.Default().Model
	default:
		m = models.Config{Name: t.model}
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
	t.cfg.Model = m
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", "train --method simclr --data PATH|fashion-mnist --out DIR [flags]", stderr)
	t := bindTrainFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if t.configFile != "" {
		if err := applyConfigFile(fs, t.configFile); err != nil {
			return err
		}
	}
	t.resolve()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	res, err := train.Run(ctx, t.cfg, t.resume, stderr)
	if err != nil {
		return err
	}
	if t.jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "trained %s: %d epochs, %d steps in %s (%.0f images/s), final loss %.4f", t.cfg.Method, res.Epochs, res.Steps, train.FormatDuration(time.Duration(res.Seconds*float64(time.Second))), res.ImagesPerSec, res.FinalLoss)
	if res.KNNTop1 > 0 {
		fmt.Fprintf(stdout, ", monitor kNN top-1 %.4f", res.KNNTop1)
	}
	if res.Stopped != "" {
		fmt.Fprintf(stdout, " (stopped: %s; continue with --resume)", res.Stopped)
	}
	fmt.Fprintf(stdout, "\nmodel directory: %s\n", res.Dir)
	return nil
}
