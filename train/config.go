// Package train runs self-supervised pretraining. A Trainer (New, then Run) owns one run: the
// data, the model, the method, the optimizer with its schedule and the loader, built from a
// Config (whose JSON keys are the train command's flags) or supplied through Options. Its steps
// are methods (Step, SaveCheckpoint) and its events — start, step end, epoch end, evaluation,
// checkpoint, end — run Hooks, in the manner of PyTorch Lightning's callbacks. The standard
// hooks are the CLI's own: the kNN monitor, the metrics log (metrics.jsonl), progress, and
// checkpoints with exact resume (Config.Resume). Run is New and Run with those hooks.
package train

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/contrastive-go/contrastive/models"
)

// Duration is a time.Duration that reads and writes JSON as a string such as "20m".
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler; it accepts "90s", "20m" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var sec float64
		if err2 := json.Unmarshal(b, &sec); err2 != nil {
			return fmt.Errorf("duration: want a string like \"20m\" or seconds, got %s", b)
		}
		*d = Duration(sec * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Config is a training run. JSON keys are the CLI's flag names, so a config file and the flags
// say the same thing.
type Config struct {
	Method      string  `json:"method"`
	Data        string  `json:"data"`
	Epochs      int     `json:"epochs"`
	BatchSize   int     `json:"batch-size"`
	Optimizer   string  `json:"optimizer"` // adam, adamw, sgd, lars
	LR          float64 `json:"lr"`
	WeightDecay float64 `json:"weight-decay"`
	SGDMomentum float64 `json:"sgd-momentum"` // SGD/LARS momentum (default 0.9)
	Schedule    string  `json:"schedule"`     // cosine (after warm-up) or constant
	Warmup      float64 `json:"warmup-epochs"`
	Temperature float64 `json:"temperature"`
	Augment     string  `json:"augment"`
	ImageSize   int     `json:"image-size"` // 0: the data's own size
	Seed        uint64  `json:"seed"`
	Workers     int     `json:"workers"`

	Model models.Config `json:"model"`

	// Method hyper-parameters beyond the temperature.
	QueueSize   int     `json:"queue-size,omitempty"`
	EMAMomentum float64 `json:"ema-momentum,omitempty"`
	Lambda      float64 `json:"lambda,omitempty"`     // Barlow Twins' off-diagonal weight
	Prototypes  int     `json:"prototypes,omitempty"` // SwAV prototypes / DINO output width

	// Multi-crop: LocalCrops extra low-resolution views of LocalSize pixels (0: 3/7 of the
	// image size) per image, for the methods that use them (simclr, swav, dino).
	LocalCrops int `json:"local-crops,omitempty"`
	LocalSize  int `json:"local-size,omitempty"`

	// SyncBN is BatchNorm on several processes: "auto" (or "") and "on" compute the batch
	// statistics over the global batch (synchronised BatchNorm, forward and backward), "off"
	// over each process's share. One process is unaffected. MoCo v2 always keeps per-process
	// statistics, with its keys shuffled across the processes.
	SyncBN string `json:"sync-bn,omitempty"`

	// Precision is the convolutions' products: "fp32" or "bf16" (AVX512_BF16 CPUs; float32
	// master weights and everything but the convolutions' products in float32, see
	// autodiff.SetConvPrecision); "" takes CONTRASTIVE_PRECISION's (autodiff.EnvPrecision) and
	// records it. It defines the run: a resumed run keeps it (runs stored before it existed
	// have "").
	Precision string `json:"precision,omitempty"`

	Out     string   `json:"out"`
	MaxTime Duration `json:"max-time,omitempty"`
	// FitEpochs chooses the number of epochs (a fresh run with MaxTime only) from the speed
	// measured over the first steps, at most Epochs, so that the learning-rate schedule ends
	// within MaxTime instead of being cut by it: the CLI's train sets it, with Epochs =
	// MaxFitEpochs, when --max-time is given without --epochs, and demo without --epochs (capped at
	// its default). The choice is printed and recorded as "epochs" in config.json and the
	// checkpoint, so a resumed run keeps it, and --epochs with that number repeats the run (the
	// warm-up, during which the choice is made, does not depend on the total).
	FitEpochs       bool     `json:"fit-epochs,omitempty"`
	CheckpointEvery Duration `json:"checkpoint-every,omitempty"`
	SkipBad         bool     `json:"skip-bad,omitempty"`
	// KNNEvery evaluates the weighted kNN monitor every this many epochs (0: only at the end, -1: never).
	KNNEvery int `json:"knn-every"`
	// MonitorSize caps the monitor's memory bank (training images) and queries.
	MonitorSize int `json:"monitor-size,omitempty"`
	// LogEvery writes a metrics line every this many steps.
	LogEvery int `json:"log-every,omitempty"`
	// MaxSteps stops after this many optimizer steps in total (0: no limit); for tests and benchmarks.
	MaxSteps int `json:"max-steps,omitempty"`

	// Resume continues the run whose checkpoint is in Out, exactly where it stopped. Its stored
	// configuration must agree with this one except for the settings ResumeConfig lists as
	// changeable (see ResumeConfig to fill a Config from the stored one).
	Resume bool `json:"-"`
	// Overwrite lets a new run replace a directory that already holds a model, metrics or a
	// checkpoint; without it such a directory is refused.
	Overwrite bool `json:"-"`
}

// Default returns the defaults: SimCLR, τ = 0.2, Adam 1e-3 with half an epoch of warm-up then
// cosine decay, 6 epochs of batch 256, and the model and augmentation chosen from the data
// (Auto). For small grayscale images such as Fashion-MNIST that is the recipe found by the
// searches in the README (RecipeModel: the reference CNN's three conv layers, but h is the last
// feature map average-pooled to 7×7 and flattened (6272-d for 28-px images) instead of a global
// average pool (128-d); a 6272→512→128 projection head; the small-gray augmentation). Six epochs let the
// cosine schedule finish within about 20 minutes on the slowest two cores we measured (Zen 1);
// with MaxTime and FitEpochs (the CLI's --max-time without --epochs) the length is chosen from
// the machine's measured speed instead.
func Default() Config {
	return Config{
		Method:      "simclr",
		Data:        "fashion-mnist",
		Epochs:      6,
		BatchSize:   256,
		Optimizer:   "adam",
		LR:          1e-3,
		Schedule:    "cosine",
		Warmup:      0.5,
		Temperature: 0.2,
		Augment:     Auto,
		Seed:        1,
		SyncBN:      "auto",
		Model:       models.Config{Name: Auto},
		KNNEvery:    0,
		MonitorSize: 10000,
		LogEvery:    10,
		Out:         "run",
	}
}

// RecipeModel is the encoder and head of the default recipe for small grayscale images.
func RecipeModel() models.Config {
	return models.Config{
		Name:     models.SmallCNNName,
		Channels: []int{32, 64, 128},
		Strides:  []int{1, 2, 2},
		PoolGrid: models.DefaultPoolGrid,
		Head:     models.HeadConfig{Kind: models.HeadMLP2, Hidden: 512, Out: 128},
	}
}
