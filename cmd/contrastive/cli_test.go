package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIndexAddsAndRefusesAnotherModel(t *testing.T) {
	modelDir, dataDir := embedTestModel(t)
	idx := filepath.Join(t.TempDir(), "photos.idx")
	code, out, errs := runCLI("index", "--model", modelDir, "--data", dataDir, "--out", idx, "--json")
	if code != 0 {
		t.Fatalf("index: exit %d: %s", code, errs)
	}
	var r struct{ Added, Skipped, Vectors int }
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("index --json: %v: %q", err, out)
	}
	if r.Added != 90 || r.Vectors != 90 {
		t.Errorf("first index run added %d, holds %d; want 90 and 90", r.Added, r.Vectors)
	}
	// Again: nothing new to add.
	code, out, errs = runCLI("index", "--model", modelDir, "--data", dataDir, "--out", idx, "--json")
	if code != 0 {
		t.Fatalf("second index: exit %d: %s", code, errs)
	}
	json.Unmarshal([]byte(out), &r)
	if r.Added != 0 || r.Vectors != 90 {
		t.Errorf("second index run added %d, holds %d; want 0 and 90", r.Added, r.Vectors)
	}
	// A different model must be refused.
	other := filepath.Join(t.TempDir(), "other")
	if code, _, errs := runCLI("train", "--data", dataDir, "--out", other, "--seed", "7", "--epochs", "1", "--batch-size", "32",
		"--max-steps", "1", "--channels", "8,16", "--strides", "2,2", "--proj-dim", "16", "--knn-every", "-1"); code != 0 {
		t.Fatalf("training the second model: %s", errs)
	}
	code, _, errs = runCLI("index", "--model", other, "--data", dataDir, "--out", idx)
	if code == 0 {
		t.Fatal("an index made by another model must be refused")
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "contrastive index: ") || !strings.Contains(last, "different model") {
		t.Errorf("refusal should end with one line naming the other model, got %q", errs)
	}
}

func TestTrainConfigFileAndUserErrors(t *testing.T) {
	_, dataDir := embedTestModel(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "run.yaml")
	out := filepath.Join(dir, "m")
	os.WriteFile(cfgPath, []byte("method: simclr\nepochs: 1\nbatch-size: 32\nmax-steps: 2\nchannels: [8, 16]\nstrides: [2, 2]\nproj-dim: 16\nknn-every: -1\n"), 0o644)
	code, stdout, errs := runCLI("train", "--config", cfgPath, "--data", dataDir, "--out", out, "--json")
	if code != 0 {
		t.Fatalf("train --config: exit %d: %s", code, errs)
	}
	var res struct{ Steps int }
	json.Unmarshal([]byte(stdout), &res)
	if res.Steps != 2 {
		t.Errorf("the config file's max-steps 2 gave %d steps", res.Steps)
	}
	b, _ := os.ReadFile(filepath.Join(out, "config.json"))
	if !strings.Contains(string(b), `"batch-size": 32`) {
		t.Errorf("config.json does not carry the file's batch-size: %s", b)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown method", []string{"train", "--method", "nope", "--data", dataDir, "--out", filepath.Join(dir, "x")}, "unknown method"},
		{"missing data", []string{"train", "--data", filepath.Join(dir, "missing"), "--out", filepath.Join(dir, "y")}, "missing"},
		{"unknown config key", []string{"train", "--config", writeFile(t, dir, "bad.json", `{"epochz": 3}`)}, "epochz"},
		{"eval without a model dir", []string{"eval", "--model", dir}, "not a model directory"},
		{"unknown command", []string{"trian"}, "unknown command"},
	} {
		code, _, errs := runCLI(c.args...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want a failure mentioning %q", c.name, code, errs, c.want)
		}
		if strings.Contains(errs, "goroutine ") || strings.Contains(errs, "panic") {
			t.Errorf("%s: a stack trace reached the user: %q", c.name, errs)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// --max-time without --epochs fits the epochs to the time; with --epochs the user's number holds.
func TestTrainMaxTimeWithoutEpochsFitsThem(t *testing.T) {
	_, dataDir := embedTestModel(t)
	dir := t.TempDir()
	small := []string{"--data", dataDir, "--batch-size", "32", "--max-steps", "14", "--channels", "8,16", "--strides", "2,2", "--proj-dim", "16", "--knn-every", "-1", "--json"}
	for _, c := range []struct {
		extra []string
		fit   bool
	}{{[]string{"--max-time", "1h"}, true}, {[]string{"--max-time", "1h", "--epochs", "3"}, false}, {nil, false}} {
		out := filepath.Join(dir, fmt.Sprint(len(c.extra)))
		code, _, errs := runCLI(append(append([]string{"train", "--out", out}, small...), c.extra...)...)
		if code != 0 {
			t.Fatalf("train %v: exit %d: %s", c.extra, code, errs)
		}
		if got := strings.Contains(errs, "auto: --epochs "); got != c.fit {
			t.Errorf("train %v: fitted the epochs: %v, want %v; stderr:\n%s", c.extra, got, c.fit, errs)
		}
	}
}
