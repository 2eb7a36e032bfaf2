package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/contrastive-go/contrastive/method"
	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/nn"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/safetensors"
	"github.com/contrastive-go/contrastive/tensor"
)

// saveCheckpoint writes checkpoint.safetensors (everything needed to resume, in one file renamed
// into place, so a kill at any moment leaves the previous checkpoint whole), then model.safetensors.
func saveCheckpoint(dir string, cfg Config, m method.Method, opt optim.Optimizer, pos Position) error {
	model := m.Model()
	tensors := map[string]*tensor.Tensor{}
	dtypes := map[string]safetensors.DType{}
	for k, v := range nn.StateDict(model) {
		tensors["model."+k] = v
	}
	for k, v := range nn.DTypes(model) {
		dtypes["model."+k] = v
	}
	for k, v := range opt.State() {
		tensors["optim."+k] = v
	}
	for k, v := range m.State() {
		tensors["method."+k] = v
	}
	posJS, _ := json.Marshal(pos)
	cfgJS, _ := json.Marshal(cfg)
	meta := map[string]string{"trainer": string(posJS), "config": string(cfgJS)}
	var buf bytes.Buffer
	if err := safetensors.WriteTyped(&buf, tensors, dtypes, meta); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, modeldir.CheckpointFile), buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := model.Save(&buf, map[string]string{"epoch": fmt.Sprint(pos.Epoch), "global_step": fmt.Sprint(pos.GlobalStep), "method": cfg.Method}); err != nil {
		return fmt.Errorf("saving weights: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, modeldir.WeightsFile), buf.Bytes())
}

// checkpoint is a loaded checkpoint.
type checkpoint struct {
	cfg    Config
	pos    Position
	model  map[string]*tensor.Tensor
	optim  map[string]*tensor.Tensor
	method map[string]*tensor.Tensor
}

// errNoCheckpoint means the directory holds no checkpoint to resume from.
var errNoCheckpoint = errors.New("no checkpoint")

func loadCheckpoint(dir string) (*checkpoint, error) {
	path := filepath.Join(dir, modeldir.CheckpointFile)
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%s: %w", path, errNoCheckpoint)
		}
		return nil, err
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint: %w", err)
	}
	if err := nn.CheckFinite(f.Tensors); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cp := &checkpoint{model: map[string]*tensor.Tensor{}, optim: map[string]*tensor.Tensor{}, method: map[string]*tensor.Tensor{}}
	if err := json.Unmarshal([]byte(f.Metadata["trainer"]), &cp.pos); err != nil {
		return nil, fmt.Errorf("%s: trainer state: %w", path, err)
	}
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &cp.cfg); err != nil {
		return nil, fmt.Errorf("%s: config: %w", path, err)
	}
	if cp.cfg.Precision == "" {
		cp.cfg.Precision = "fp32" // stored before the setting existed
	}
	for k, v := range f.Tensors {
		switch {
		case strings.HasPrefix(k, "model."):
			cp.model[strings.TrimPrefix(k, "model.")] = v
		case strings.HasPrefix(k, "optim."):
			cp.optim[strings.TrimPrefix(k, "optim.")] = v
		case strings.HasPrefix(k, "method."):
			cp.method[strings.TrimPrefix(k, "method.")] = v
		default:
			return nil, fmt.Errorf("%s: unexpected tensor %q", path, k)
		}
	}
	return cp, nil
}
