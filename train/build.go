package train

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/loader"
	"github.com/contrastive-go/contrastive/method"
	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/nn"
	"github.com/contrastive-go/contrastive/optim"
)

// build opens the data and builds the model, method, optimizer, schedule and loader.
func (t *Trainer) build(o Options) error {
	cfg := &t.Config
	fac, _ := method.Lookup(cfg.Method)
	channels := cfg.Model.InChannels
	if channels == 0 {
		switch cfg.Model.Name {
		case models.ResNet18Name, models.ResNet18CIFARName, Auto:
			channels = 3 // RGB, or the data's own channels for arrays (gray sources never expand)
		default:
			channels = 1
		}
	}
	ds := o.Data
	if ds == nil {
		channels = t.autoBeforeOpen(channels, o.Log)
		var err error
		if ds, err = data.OpenForModel(cfg.Data, data.ModelOptions{Channels: channels, Size: cfg.ImageSize, SkipBad: cfg.SkipBad}, o.Log); err != nil {
			return err
		}
	}
	t.Data = ds
	if fac.NeedsLabels && ds.Classes() == nil {
		return fmt.Errorf("method %s needs labels, but %s is unlabelled", cfg.Method, cfg.Data)
	}
	if t.stored != nil && t.pos.Samples > 0 && ds.Len() != t.pos.Samples {
		return fmt.Errorf("%s holds %d samples, but the run was trained on %d: resume it on the same data", cfg.Data, ds.Len(), t.pos.Samples)
	}
	first, err := ds.Get(0)
	if err != nil {
		return err
	}
	img := first.Image
	t.autoAfterOpen(img.C, img.H, o.Log)
	mcfg := cfg.Model
	if fac.Adjust != nil {
		fac.Adjust(&mcfg)
	}
	if mcfg.Name == models.MLPName {
		if mcfg.InputDim == 0 {
			mcfg.InputDim = len(img.Pix)
		}
	} else {
		// Build the encoder for the images the data gives (a ResNet defaults to RGB, but IDX
		// and CIFAR-style readers return their own channel count), or say why not.
		if mcfg.InChannels == 0 {
			mcfg.InChannels = img.C
		} else if mcfg.InChannels != img.C {
			return fmt.Errorf("model %s takes %d-channel images, but %s gives %d-channel images", mcfg.Name, mcfg.InChannels, cfg.Data, img.C)
		}
		if img.H == 1 && img.C == 1 {
			return fmt.Errorf("%s holds vectors, not images: train the mlp encoder on it (--model mlp --augment scarf)", cfg.Data)
		}
		if img.H != img.W {
			return fmt.Errorf("images of %s are %dx%d; pass --image-size to train on square images", cfg.Data, img.W, img.H)
		}
		if err := checkPoolGrid(mcfg, img.H); err != nil {
			return err
		}
	}
	views := o.Views
	if views == nil {
		if views, err = t.views(img.H, img.C, fac.Views); err != nil {
			return err
		}
	}
	if len(views) != fac.Views {
		return fmt.Errorf("augmentation %s gives %d views, method %s needs %d", cfg.Augment, len(views), cfg.Method, fac.Views)
	}
	if t.Model, err = models.Build(mcfg, cfg.Seed); err != nil {
		return fmt.Errorf("building the model: %w", err)
	}
	mc := method.Config{Temperature: cfg.Temperature, QueueSize: cfg.QueueSize, EMAMomentum: cfg.EMAMomentum,
		Lambda: cfg.Lambda, Prototypes: cfg.Prototypes, Seed: cfg.Seed}
	if t.distributed() {
		mc.Comm, mc.LocalBN = t.Comm, !cfg.syncBN(t.Comm.Size())
	}
	if t.Method, err = fac.New(t.Model, mc); err != nil {
		return err
	}
	t.Optimizer = newOptimizer(*cfg, t.Method.Params())
	var local []augment.Transform
	if cfg.LocalCrops > 0 {
		mc := augment.MultiCrop{Local: cfg.LocalCrops, Size: cfg.LocalSize}.WithDefaults(img.H)
		if local, err = augment.LocalViews(cfg.Augment, img.H, img.C, mc); err != nil {
			return fmt.Errorf("--local-crops: %w", err)
		}
		if err := checkPoolGrid(mcfg, mc.Size); err != nil {
			return fmt.Errorf("--local-size %d: %w", mc.Size, err)
		}
	}
	lo := loader.Options{BatchSize: cfg.BatchSize, Workers: cfg.Workers, Prefetch: 3, DropLast: true, Shuffle: true, Seed: cfg.Seed, Local: local}
	if t.Comm != nil {
		lo.Shard, lo.Shards = t.Comm.Rank(), t.Comm.Size()
	}
	if t.Loader, err = loader.New(ds, views, lo); err != nil {
		return err
	}
	t.StepsPerEpoch = t.Loader.Len()
	if t.StepsPerEpoch == 0 {
		t.Loader.Close()
		return fmt.Errorf("%s has %d samples, fewer than one batch of %d (lower --batch-size)", cfg.Data, ds.Len(), cfg.BatchSize)
	}
	t.TotalSteps = t.StepsPerEpoch * cfg.Epochs
	t.Schedule = optim.Constant(cfg.LR)
	if cfg.Schedule == "cosine" {
		t.Schedule = optim.Cosine(int(cfg.Warmup*float64(t.StepsPerEpoch)), t.TotalSteps, cfg.LR, 0)
	}
	if cp := t.stored; cp != nil {
		if err := nn.LoadStateDict(t.Model, cp.model); err != nil {
			return fmt.Errorf("checkpoint in %s does not fit the model: %w", cfg.Out, err)
		}
		if err := t.Optimizer.LoadState(cp.optim); err != nil {
			return fmt.Errorf("checkpoint optimizer state: %w", err)
		}
		if err := t.Method.LoadState(cp.method); err != nil {
			return fmt.Errorf("checkpoint method state: %w", err)
		}
	}
	t.pos.Samples = ds.Len()
	return nil
}

// views builds the augmentation preset's transforms.
func (t *Trainer) views(size, channels, want int) ([]augment.Transform, error) {
	if t.Config.Augment == ScarfAugment {
		sc, err := augment.NewSCARF(t.Data, 0.6)
		if err != nil {
			return nil, err
		}
		views := make([]augment.Transform, want)
		for i := range views {
			views[i] = sc
		}
		return views, nil
	}
	return augment.Preset(t.Config.Augment, size, channels)
}

// checkPoolGrid refuses a small-cnn pooling grid larger than its last feature map.
func checkPoolGrid(m models.Config, size int) error {
	if m.Name != models.SmallCNNName || m.PoolGrid <= 1 {
		return nil
	}
	strides := m.Strides
	if strides == nil {
		strides = []int{1, 2, 2}
	}
	side := size
	for _, s := range strides {
		side = (side-1)/s + 1 // 3×3 convolutions, padding 1
	}
	if m.PoolGrid > side {
		return fmt.Errorf("--pool-grid %d is larger than the %d×%d feature map that %d×%d images give with --strides %s", m.PoolGrid, side, side, size, size, strings.Trim(strings.Join(strings.Fields(fmt.Sprint(strides)), ","), "[]"))
	}
	return nil
}

// checkFreshDir refuses to start a new run in a directory that holds one, unless overwrite.
func checkFreshDir(dir string, overwrite bool) error {
	if dir == "" {
		return nil
	}
	for _, f := range []string{modeldir.CheckpointFile, modeldir.WeightsFile, modeldir.MetricsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			continue
		}
		if overwrite {
			return nil
		}
		if f == modeldir.CheckpointFile {
			return fmt.Errorf("%s already holds a run; pass --resume to continue it, --overwrite to replace it, or choose another --out", dir)
		}
		return fmt.Errorf("%s already holds a trained model (%s); pass --overwrite to replace it or choose another --out", dir, f)
	}
	return nil
}

// newOptimizer is the optimizer cfg names over params (SGD with momentum, Adam, AdamW or LARS).
func newOptimizer(cfg Config, params []*autodiff.Var) optim.Optimizer {
	switch cfg.Optimizer {
	case "sgd":
		return optim.NewSGD(params, optim.SGDConfig{LR: cfg.LR, Momentum: cmp.Or(cfg.SGDMomentum, 0.9), WeightDecay: cfg.WeightDecay})
	case "lars":
		return optim.NewLARS(params, optim.LARSConfig{LR: cfg.LR, Momentum: cmp.Or(cfg.SGDMomentum, 0.9), WeightDecay: cfg.WeightDecay})
	case "adamw":
		return optim.NewAdamW(params, optim.AdamConfig{LR: cfg.LR, WeightDecay: cfg.WeightDecay})
	default:
		return optim.NewAdam(params, optim.AdamConfig{LR: cfg.LR, WeightDecay: cfg.WeightDecay})
	}
}
