package train

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// changeable lists the settings (by flag name) a resumed run may change. Every other setting
// defines the run and must stay as stored. Their meaning on resume:
//
//	epochs            the run's new length, at least the epochs already done; with the cosine
//	                  schedule the decay is recomputed for the new total, so from the resumed
//	                  step on the learning rate follows the longer (or shorter) curve
//	data              the same data at another path (a moved folder); it must hold as many
//	                  samples as the run was trained on
//	out               where the run is read and written (a copied or moved directory)
//	fit-epochs        ignored on resume: the run's length was chosen when it started
//	max-time, max-steps, checkpoint-every, knn-every, monitor-size, log-every, workers, skip-bad
//	                  how this leg of the run is stopped, saved, monitored, logged and fed
var changeable = map[string]bool{
	"epochs": true, "data": true, "out": true, "max-time": true, "max-steps": true,
	"checkpoint-every": true, "knn-every": true, "monitor-size": true, "log-every": true,
	"workers": true, "skip-bad": true, "fit-epochs": true,
}

// perLeg are the limits of one invocation: on resume they come from the request (its defaults
// included), never from the stored run, so a run stopped by --max-steps goes on when resumed
// without it.
var perLeg = map[string]bool{"max-time": true, "max-steps": true}

// StoredConfig returns the configuration recorded in the checkpoint in dir.
func StoredConfig(dir string) (Config, error) {
	cp, err := loadCheckpoint(dir)
	if err != nil {
		return Config{}, err
	}
	return cp.cfg, nil
}

// ResumeConfig is the configuration to resume the run in dir with: the stored one, with the
// settings the user gave (given reports, by flag name — the JSON keys of Config — whether a
// setting was given; "model" stands for all model flags) taken from requested. A given setting
// that would change what the run is (the method, the learning rate, the model, ...) is refused
// with an error naming it; the ones listed in changeable are applied. The result has Resume set
// and Out = requested.Out: a run is always read and written where the user points.
func ResumeConfig(requested Config, given func(flag string) bool) (Config, error) {
	stored, err := StoredConfig(requested.Out)
	if err != nil {
		return Config{}, fmt.Errorf("cannot resume: %w", err)
	}
	req, _ := configMap(requested)
	st, _ := configMap(stored)
	keys := make([]string, 0, len(req))
	for k := range req {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for k := range perLeg {
		if v, ok := req[k]; ok {
			st[k] = v
		} else {
			delete(st, k)
		}
	}
	for _, k := range keys {
		if perLeg[k] {
			continue
		}
		if !given(k) || reflect.DeepEqual(req[k], st[k]) {
			continue
		}
		if !changeable[k] {
			return Config{}, refusal(k, req[k], st[k])
		}
		st[k] = req[k]
	}
	b, _ := json.Marshal(st)
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return Config{}, err
	}
	cfg.Out, cfg.Resume = requested.Out, true
	return cfg, nil
}

// inheritAuto gives the settings a run chose itself (Auto model and augmentation, an image size
// of 0) the values the stored run chose, so that resuming with the defaults means "as before".
func inheritAuto(cfg, stored Config) Config {
	if cfg.Model.Name == Auto {
		cfg.Model.Name = stored.Model.Name
	}
	if cfg.Augment == Auto {
		cfg.Augment = stored.Augment
	}
	if cfg.ImageSize == 0 {
		cfg.ImageSize = stored.ImageSize
	}
	if cfg.Precision == "" {
		cfg.Precision = stored.Precision
	}
	return cfg
}

// checkResume compares the configuration a run is resumed with against the stored one.
func checkResume(cfg, stored Config) error {
	a, _ := configMap(cfg)
	b, _ := configMap(stored)
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !changeable[k] && !reflect.DeepEqual(a[k], b[k]) {
			return refusal(k, a[k], b[k])
		}
	}
	return nil
}

func refusal(key string, got, stored any) error {
	if key == "model" {
		return fmt.Errorf("the model flags (--model, --channels, --strides, --pool-grid, --head, --proj-hidden, --proj-dim) describe another model than the run in this directory (%s); a resumed run keeps its model: drop them or start a new run with another --out", compact(stored))
	}
	return fmt.Errorf("--%s %s differs from the run's %s: a resumed run keeps its configuration (only %s may change); drop --%s or start a new run with another --out", key, compact(got), compact(stored), changeableList(), key)
}

func changeableList() string {
	var l []string
	for k := range changeable {
		l = append(l, "--"+k)
	}
	sort.Strings(l)
	return strings.Join(l, ", ")
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// configMap is c as a map keyed by flag name (its JSON form).
func configMap(c Config) (map[string]any, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	return m, json.Unmarshal(b, &m)
}
