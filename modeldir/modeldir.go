// Package modeldir reads a model directory: the trained weights (model.safetensors), the run's
// configuration (config.json) and the files training leaves beside them. Training writes it;
// evaluation, embedding, indexing and serving read it, without depending on the trainer.
package modeldir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/models"
)

// Files of a model directory.
const (
	CheckpointFile = "checkpoint.safetensors" // model + optimizer + method state + trainer state: what --resume reads
	WeightsFile    = "model.safetensors"      // the model's weights alone, PyTorch state_dict names
	ConfigFile     = "config.json"            // the run's configuration
	MetricsFile    = "metrics.jsonl"          // one JSON object per logged step or epoch
)

// DefaultAugment is the augmentation preset assumed for a directory whose config.json is absent
// or silent about it (the training default for small grayscale images).
const DefaultAugment = "small-gray"

// Run is the part of a run's configuration (config.json, whose keys are the train command's flag
// names) that readers of a model directory need to prepare inputs as training did.
type Run struct {
	Method    string `json:"method"`
	Data      string `json:"data"`
	Augment   string `json:"augment"`    // the training augmentation preset; its evaluation transform prepares inputs
	ImageSize int    `json:"image-size"` // 0: the data's own size
	Seed      uint64 `json:"seed"`       // the initialisation seed (an untrained twin of the model is Build(Model.Config, Seed))
}

// ModelDir is a trained model loaded from its directory.
type ModelDir struct {
	Dir    string
	Config Run // from config.json
	Model  *models.Model
}

// Open loads model.safetensors and config.json from dir.
func Open(dir string) (*ModelDir, error) {
	wpath := filepath.Join(dir, WeightsFile)
	b, err := os.ReadFile(wpath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a model directory: it has no %s (train one with 'contrastive train --out %s')", dir, WeightsFile, dir)
		}
		return nil, err
	}
	m, _, err := models.Load(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", wpath, err)
	}
	md := &ModelDir{Dir: dir, Model: m}
	cpath := filepath.Join(dir, ConfigFile)
	if cb, err := os.ReadFile(cpath); err == nil {
		if err := json.Unmarshal(cb, &md.Config); err != nil {
			return nil, fmt.Errorf("%s: %w", cpath, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if md.Config.Augment == "" {
		md.Config.Augment = DefaultAugment
	}
	return md, nil
}

// Path is the path of the named file inside the directory.
func (md *ModelDir) Path(file string) string { return filepath.Join(md.Dir, file) }

// Channels is the number of image channels the model takes.
func (md *ModelDir) Channels() int {
	if c := md.Model.Config.InChannels; c > 0 {
		return c
	}
	return 1
}

// EvalTransform is the deterministic evaluation transform matching the training augmentation, for
// images of the given side.
func (md *ModelDir) EvalTransform(size, channels int) (augment.Transform, error) {
	return augment.Eval(md.Config.Augment, size, channels)
}
