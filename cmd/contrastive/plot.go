package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/plot"
	"github.com/contrastive-go/contrastive/train"
)

func init() {
	register("plot", "loss, learning-rate and kNN curves and a 2-D map of the embeddings as PNG", runPlot)
}

// plotResult is what plot reports with --json; the keys are part of the CLI's interface.
type plotResult struct {
	Files   []string `json:"files"`             // the PNG files written
	Skipped []string `json:"skipped,omitempty"` // the plots not drawn, each with the reason
	Points  int      `json:"points,omitempty"`  // points in the embedding map
	Method  string   `json:"method,omitempty"`  // pca or tsne
	Data    string   `json:"data,omitempty"`    // the data of the embedding map
}

// plotDefaultTSNEPoints is the default number of points of a t-SNE map (exact t-SNE is O(n²)).
const plotDefaultTSNEPoints = 2000

func runPlot(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plot", "plot --model DIR [--data SPEC] [--out DIR] [--max-points 5000] [--tsne] [--json]", stderr)
	dir := fs.String("model", "", "model directory written by train")
	spec := fs.String("data", "", "labelled data of the embedding map (default: the model's training data, its test split when it has one)")
	outDir := fs.String("out", "", "directory to write the PNG files to (default: the model directory)")
	var maxPointsV, size int
	var perplexityV float64
	maxPoints, perplexity := &maxPointsV, &perplexityV
	intFlag(fs, maxPoints, "max-points", 5000, atLeast(4), "at most this many points (a seeded random subset) in the embedding map; 2000 by default with --tsne")
	tsne := fs.Bool("tsne", false, "map the embeddings with exact t-SNE (perplexity 30, 500 iterations) instead of PCA")
	floatFlag(fs, perplexity, "perplexity", 30, positiveFloat, "t-SNE perplexity")
	imageSizeFlag(fs, &size)
	projection := fs.Bool("projection", false, "map the projection z instead of the encoder features h")
	embedding := fs.Bool("embedding", true, "draw the embedding map (false: only the curves)")
	seed := fs.Uint64("seed", 1, "seed of the subset, the t-SNE initialisation and the drawing order")
	jsonOut := fs.Bool("json", false, "print the result as JSON on stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("--model is required (a directory written by 'contrastive train')")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *tsne && !set["max-points"] {
		*maxPoints = plotDefaultTSNEPoints
	}
	if *tsne && *maxPoints > plot.MaxTSNEPoints {
		return fmt.Errorf("--max-points %d is too many for exact t-SNE (at most %d; %d is the default)", *maxPoints, plot.MaxTSNEPoints, plotDefaultTSNEPoints)
	}
	md, err := openModelDir(*dir, size)
	if err != nil {
		return err
	}
	if *outDir == "" {
		*outDir = *dir
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return fmt.Errorf("creating the output directory: %w", err)
	}
	res := &plotResult{}
	write := func(name string, b []byte) error {
		p := filepath.Join(*outDir, name)
		if err := train.WriteFileAtomic(p, b); err != nil {
			return err
		}
		res.Files = append(res.Files, p)
		return nil
	}
	if err := plotCurves(md, write, res); err != nil {
		return err
	}
	if *embedding {
		o := plotMapOptions{spec: *spec, maxPoints: *maxPoints, tsne: *tsne, perplexity: *perplexity, projection: *projection, seed: *seed}
		if err := plotEmbedding(md, o, write, res, stderr); err != nil {
			return err
		}
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	for _, f := range res.Files {
		fmt.Fprintf(stdout, "wrote %s\n", f)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(stdout, "skipped %s\n", s)
	}
	return nil
}

// plotCurves draws loss.png, lr.png and knn.png from the run's metrics.jsonl; what the log lacks
// is noted in res.Skipped.
func plotCurves(md *modeldir.ModelDir, write func(string, []byte) error, res *plotResult) error {
	path := filepath.Join(md.Dir, modeldir.MetricsFile)
	lines, err := modeldir.ReadMetrics(path)
	if errors.Is(err, os.ErrNotExist) {
		res.Skipped = append(res.Skipped, fmt.Sprintf("loss.png, lr.png, knn.png: %s has no %s", md.Dir, modeldir.MetricsFile))
		return nil
	}
	if err != nil {
		return err
	}
	c := plot.CurvesFromMetrics(lines)
	run := fmt.Sprintf("%s on %s", md.Config.Method, filepath.Base(md.Config.Data))
	for _, p := range []struct {
		name, title, missing string
		draw                 func(plot.Curves, string) ([]byte, error)
	}{
		{"loss.png", "Training loss (" + run + ")", "no loss logged", plot.LossPNG},
		{"lr.png", "Learning rate (" + run + ")", "no learning rate logged", plot.LRPNG},
		{"knn.png", "kNN monitor top-1 (" + run + ")", "no kNN monitor results logged (train with labelled data and --knn-every ≥ 0)", plot.KNNPNG},
	} {
		b, err := p.draw(c, p.title)
		if errors.Is(err, plot.ErrNoData) {
			res.Skipped = append(res.Skipped, p.name+": "+p.missing)
			continue
		}
		if err != nil {
			return fmt.Errorf("drawing %s: %w", p.name, err)
		}
		if err := write(p.name, b); err != nil {
			return err
		}
	}
	return nil
}

// plotMapOptions configure the embedding map.
type plotMapOptions struct {
	spec             string
	maxPoints        int
	tsne, projection bool
	perplexity       float64
	seed             uint64
}

// plotEmbedding embeds (a seeded subset of) the data and draws embedding.png.
func plotEmbedding(md *modeldir.ModelDir, o plotMapOptions, write func(string, []byte) error, res *plotResult, log io.Writer) error {
	ds, name, err := plotData(md, o.spec, log)
	if err != nil {
		return err
	}
	total := ds.Len()
	if total > o.maxPoints {
		idx := rand.New(rand.NewPCG(o.seed, 0x9107)).Perm(total)[:o.maxPoints]
		sort.Ints(idx)
		ds = data.Subset(ds, idx)
	}
	n := ds.Len()
	if n < 4 {
		return fmt.Errorf("%s has %d samples: the embedding map needs at least 4", name, n)
	}
	feat := featureName(o.projection)
	emb, err := embedAll(md, ds, o.projection, fmt.Sprintf("%d of the %d samples of %s (%s)", n, total, name, feat), log)
	if err != nil {
		return err
	}
	var xy []float64
	opt := plot.ScatterOptions{Seed: o.seed}
	sub := fmt.Sprintf("%d points of %s", n, filepath.Base(name))
	if o.tsne {
		start := time.Now()
		if log != nil {
			fmt.Fprintf(log, "t-SNE of %d points (%d-d, perplexity %g, 500 iterations)...\n", n, emb.D, o.perplexity)
		}
		xy, err = plot.TSNE(emb.Data, n, emb.D, plot.TSNEOptions{Perplexity: o.perplexity, Seed: o.seed})
		if err != nil {
			return err
		}
		if log != nil {
			fmt.Fprintf(log, "t-SNE done in %.1fs\n", time.Since(start).Seconds())
		}
		opt.Title = fmt.Sprintf("t-SNE of %s (%s, perplexity %g)", feat, sub, o.perplexity)
		opt.XLabel, opt.YLabel = "t-SNE 1", "t-SNE 2"
		res.Method = "tsne"
	} else {
		if emb.D < 2 {
			return fmt.Errorf("the features are %d-dimensional: a 2-D map needs at least 2", emb.D)
		}
		p, err := plot.PCA(emb.Data, n, emb.D, 2)
		if err != nil {
			return err
		}
		xy = p.Proj
		opt.Title = fmt.Sprintf("PCA of %s (%s)", feat, sub)
		opt.XLabel = fmt.Sprintf("PC1 (%.1f%% of the variance)", 100*p.ExplainedRatio(0))
		opt.YLabel = fmt.Sprintf("PC2 (%.1f%% of the variance)", 100*p.ExplainedRatio(1))
		res.Method = "pca"
	}
	var labels []int
	classes := ds.Classes()
	if classes != nil || hasLabels(emb.Labels) {
		labels = emb.Labels
	} else if log != nil {
		fmt.Fprintf(log, "%s is unlabelled: the map is drawn in one colour\n", name)
	}
	b, err := plot.ScatterPNG(xy, labels, classes, opt)
	if err != nil {
		return fmt.Errorf("drawing embedding.png: %w", err)
	}
	res.Points, res.Data = n, name
	return write("embedding.png", b)
}

// plotData opens the data of the embedding map: spec as given, or by default the model's training
// data, its test split when it has one. It returns the dataset and a name for titles.
func plotData(md *modeldir.ModelDir, spec string, log io.Writer) (data.Dataset, string, error) {
	opt := data.ModelOptions{Channels: md.Channels(), Size: md.Config.ImageSize}
	if spec != "" {
		ds, err := data.OpenForModel(spec, opt, log)
		return ds, spec, err
	}
	spec = md.Config.Data
	if spec == "" {
		return nil, "", fmt.Errorf("%s does not record its training data: give --data", md.Dir)
	}
	ds, err := data.OpenForModel(spec, opt, log)
	if err != nil {
		return nil, "", fmt.Errorf("opening the model's training data for the embedding map: %w (give --data, or --embedding=false for the curves only)", err)
	}
	topt := opt
	topt.Split = "test"
	if test, err := data.OpenForModel(spec, topt, nil); err == nil && test.Len() != ds.Len() {
		return test, spec + " (test split)", nil
	}
	return ds, spec, nil
}
