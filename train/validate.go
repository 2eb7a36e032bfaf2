package train

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/method"
)

// MaxImageSize is the largest --image-size accepted: a batch of 256 two-view RGB images at this
// side is already 6 GiB of input alone.
const MaxImageSize = 1024

// Validate reports the first invalid setting as an error a user can act on, in the words of the
// train command's flags. Settings that need the data (a pooling grid larger than the feature
// map, say) are checked when the trainer opens it.
func (c *Config) Validate() error {
	fac, err := method.Lookup(c.Method)
	if err != nil {
		return err
	}
	if c.LocalCrops < 0 || c.LocalSize < 0 {
		return fmt.Errorf("--local-crops and --local-size must not be negative, got %d and %d", c.LocalCrops, c.LocalSize)
	}
	if c.LocalCrops > 0 && !fac.MultiCrop {
		return fmt.Errorf("--local-crops: method %s does not use multi-crop's local views", c.Method)
	}
	if c.Model.Predictor != nil && fac.Adjust == nil {
		return fmt.Errorf("--pred-hidden: method %s has no predictor", c.Method)
	}
	if !(c.Lambda >= 0) || math.IsInf(c.Lambda, 0) || c.Prototypes < 0 {
		return fmt.Errorf("--lambda and --prototypes must not be negative, got %g and %d", c.Lambda, c.Prototypes)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.Epochs <= 0:
		return fmt.Errorf("--epochs must be positive, got %d", c.Epochs)
	case c.BatchSize < 2:
		return fmt.Errorf("--batch-size must be at least 2, got %d", c.BatchSize)
	case !(c.LR > 0) || !finite(c.LR):
		return fmt.Errorf("--lr must be a finite number > 0, got %g", c.LR)
	case !(c.WeightDecay >= 0) || !finite(c.WeightDecay):
		return fmt.Errorf("--weight-decay must be a finite number >= 0, got %g", c.WeightDecay)
	case !(c.SGDMomentum >= 0 && c.SGDMomentum < 1):
		return fmt.Errorf("--sgd-momentum must be in [0, 1), got %g", c.SGDMomentum)
	case !(c.Temperature > 0) || !finite(c.Temperature):
		return fmt.Errorf("--temperature must be a finite number > 0, got %g", c.Temperature)
	case !(c.Warmup >= 0) || !finite(c.Warmup):
		return fmt.Errorf("--warmup-epochs must be a finite number >= 0, got %g", c.Warmup)
	case c.FitEpochs && c.MaxTime <= 0:
		return fmt.Errorf("fitting the epochs to the time (FitEpochs) needs --max-time")
	case c.Warmup > float64(c.Epochs) && !c.FitEpochs:
		return fmt.Errorf("--warmup-epochs %g is longer than the run (--epochs %d)", c.Warmup, c.Epochs)
	case c.ImageSize < 0 || c.ImageSize > MaxImageSize:
		return fmt.Errorf("--image-size must be between 1 and %d, got %d", MaxImageSize, c.ImageSize)
	case c.Workers < 0:
		return fmt.Errorf("--workers must not be negative, got %d", c.Workers)
	case c.QueueSize < 0:
		return fmt.Errorf("--queue-size must not be negative, got %d", c.QueueSize)
	case !(c.EMAMomentum >= 0 && c.EMAMomentum < 1):
		return fmt.Errorf("--ema-momentum must be in (0, 1), got %g", c.EMAMomentum)
	case c.MaxTime < 0:
		return fmt.Errorf("--max-time must be positive, got %s", time.Duration(c.MaxTime))
	case c.CheckpointEvery < 0:
		return fmt.Errorf("--checkpoint-every must be positive, got %s", time.Duration(c.CheckpointEvery))
	case c.KNNEvery < -1:
		return fmt.Errorf("--knn-every must be -1 (never), 0 (at the end) or a number of epochs, got %d", c.KNNEvery)
	case c.MonitorSize < 0 || c.LogEvery < 0 || c.MaxSteps < 0:
		return fmt.Errorf("--monitor-size, --log-every and --max-steps must not be negative")
	case c.Model.PoolGrid < 0:
		return fmt.Errorf("--pool-grid must be positive, got %d", c.Model.PoolGrid)
	case c.Model.Head.Hidden < 0:
		return fmt.Errorf("--proj-hidden must be positive, got %d", c.Model.Head.Hidden)
	case c.Model.Head.Out < 0:
		return fmt.Errorf("--proj-dim must be positive, got %d", c.Model.Head.Out)
	}
	for _, v := range c.Model.Channels {
		if v <= 0 {
			return fmt.Errorf("--channels must be positive widths, got %v", c.Model.Channels)
		}
	}
	for _, v := range c.Model.Strides {
		if v <= 0 {
			return fmt.Errorf("--strides must be positive, got %v", c.Model.Strides)
		}
	}
	switch c.Optimizer {
	case "adam", "adamw", "sgd", "lars":
	default:
		return fmt.Errorf("unknown --optimizer %q (known: adam, adamw, sgd, lars)", c.Optimizer)
	}
	switch c.Schedule {
	case "cosine", "constant":
	default:
		return fmt.Errorf("unknown --schedule %q (known: cosine, constant)", c.Schedule)
	}
	if c.SyncBN != "" && !slices.Contains(SyncBNValues, c.SyncBN) {
		return fmt.Errorf("unknown --sync-bn %q (known: %s)", c.SyncBN, strings.Join(SyncBNValues, ", "))
	}
	if err := autodiff.CheckPrecision(c.Precision); err != nil {
		return fmt.Errorf("--precision %q: %w", c.Precision, err)
	}
	if !knownAugment(c.Augment) {
		return fmt.Errorf("unknown --augment %q (known: %s)", c.Augment, strings.Join(AugmentNames(), ", "))
	}
	if c.Out == "" {
		return fmt.Errorf("--out must name a directory")
	}
	if c.Data == "" {
		return fmt.Errorf("--data must name a dataset")
	}
	return nil
}

// AugmentNames are the augmentation presets the trainer accepts: augment's image presets and
// "scarf", the feature corruption for vector data (built from the training rows).
func AugmentNames() []string { return append(augment.Presets(), ScarfAugment, Auto) }

// ScarfAugment names SCARF feature corruption (Bahri et al. 2022) for vector data, at the
// paper's corruption rate 0.6.
const ScarfAugment = "scarf"

func knownAugment(name string) bool {
	if name == ScarfAugment || name == Auto {
		return true
	}
	_, err := augment.Preset(name, 28, 1)
	return err == nil
}
