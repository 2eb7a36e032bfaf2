package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/train"
)

func init() {
	register("demo", "train SimCLR on Fashion-MNIST for a few minutes, then compare its kNN accuracy with raw pixels", runDemo)
}

type demoResult struct {
	Data       string   `json:"data"`
	Out        string   `json:"out"`
	Epochs     int      `json:"epochs"`
	TrainSecs  float64  `json:"train_seconds"`
	KNNTop1    float64  `json:"knn_top1"`
	RawKNNTop1 float64  `json:"raw_knn_top1"`
	LinearTop1 float64  `json:"linear_top1,omitempty"`
	Split      string   `json:"split"`
	Plots      []string `json:"plots,omitempty"`
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [--out DIR] [--epochs N] [--max-time 5m] [--json]", stderr)
	out := fs.String("out", "demo-model", "model directory to write (replaced if it holds an earlier demo)")
	var epochsV int
	var maxTimeV time.Duration
	epochs, maxTime := &epochsV, &maxTimeV
	intFlag(fs, epochs, "epochs", 0, positiveInt, "epochs (default: 3 on the 60k Debian Fashion-MNIST, 10 on the shipped 10k subset)")
	durationFlag(fs, maxTime, "max-time", 6*time.Minute, positiveDur, "stop training after this long")
	linear := fs.Bool("linear", false, "also run the linear probe (slower)")
	jsonOut := fs.Bool("json", false, "print the result as JSON on stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	spec := "fashion-mnist"
	if _, err := data.OpenFashionMNIST("train", ""); err != nil {
		spec = "fashion-mnist:embedded"
		fmt.Fprintln(stderr, "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist for all 70k images);")
		fmt.Fprintln(stderr, "using the 10k-image test split shipped inside this binary, with a stratified 20% hold-out for evaluation.")
	}
	cfg := train.Default()
	cfg.Data = spec
	cfg.Out = *out
	cfg.KNNEvery = -1
	cfg.MaxTime = train.Duration(*maxTime)
	cfg.Epochs = *epochs
	if cfg.Epochs == 0 { // the default length, or fewer epochs if they would not end within --max-time
		cfg.Epochs, cfg.FitEpochs = 3, true
		if spec != "fashion-mnist" {
			cfg.Epochs = 10
		}
	}
	if holdsRun(*out) {
		if _, err := os.Stat(filepath.Join(*out, ".demo")); err != nil {
			return fmt.Errorf("%s holds a model that the demo did not write; choose another --out", *out)
		}
		if err := os.RemoveAll(*out); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(*out, ".demo"), nil, 0o644)
	fmt.Fprintf(stderr, "GEMM backend: %s\n", blas.Describe())
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	res, err := train.Run(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	md, err := modeldir.Open(*out)
	if err != nil {
		return err
	}
	le := 0
	if *linear {
		le = 30
	}
	ev, err := evaluate(md, evalOptions{spec: spec, holdout: 0.2, seed: 1, linear: *linear, linearEpochs: le, log: stderr})
	if err != nil {
		return err
	}
	dr := demoResult{Data: spec, Out: *out, Epochs: res.Epochs, TrainSecs: res.Seconds, KNNTop1: ev.KNNTop1, RawKNNTop1: ev.RawKNNTop1, LinearTop1: ev.LinearTop1, Split: ev.Split}
	dr.Plots = demoPlots(*out, stderr)
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(dr)
	}
	fmt.Fprintf(stdout, "\nSimCLR on %s: %d epoch(s) in %s (%.0f images/s)\n", spec, res.Epochs, train.FormatDuration(time.Duration(res.Seconds*float64(time.Second))), res.ImagesPerSec)
	fmt.Fprintf(stdout, "  evaluation: %s\n", ev.Split)
	fmt.Fprintf(stdout, "  kNN top-1 of the learned features h:  %.4f\n", ev.KNNTop1)
	fmt.Fprintf(stdout, "  kNN top-1 of the raw pixels:         %.4f\n", ev.RawKNNTop1)
	if *linear {
		fmt.Fprintf(stdout, "  linear probe top-1:                   %.4f\n", ev.LinearTop1)
	}
	fmt.Fprintf(stdout, "  model directory: %s\n", *out)
	for _, p := range dr.Plots {
		fmt.Fprintf(stdout, "  plot: %s\n", p)
	}
	return nil
}

// demoPlots draws the loss curve and the embedding map into the model directory, as
// 'contrastive plot --model DIR' does, and returns the files written.
func demoPlots(dir string, log io.Writer) []string {
	var buf bytes.Buffer
	if err := runPlot([]string{"--model", dir, "--max-points", "3000", "--json"}, &buf, io.Discard); err != nil {
		fmt.Fprintf(log, "plots skipped: %v\n", err)
		return nil
	}
	var pr struct {
		Files []string `json:"files"`
	}
	json.Unmarshal(buf.Bytes(), &pr)
	return pr.Files
}

// holdsRun reports whether dir holds a checkpoint, a model or metrics.
func holdsRun(dir string) bool {
	for _, f := range []string{modeldir.CheckpointFile, modeldir.WeightsFile, modeldir.MetricsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}
