package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/models"
)

// ModelDir is a trained model loaded from its directory.
type ModelDir struct {
	Dir    string
	Config Config // the run's configuration (config.json)
	Model  *models.Model
}

// OpenModelDir loads model.safetensors and config.json from dir.
func OpenModelDir(dir string) (*ModelDir, error) {
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
	md := &ModelDir{Dir: dir, Model: m, Config: Default()}
	if cb, err := os.ReadFile(filepath.Join(dir, ConfigFile)); err == nil {
		if err := json.Unmarshal(cb, &md.Config); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
		}
	}
	return md, nil
}

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
