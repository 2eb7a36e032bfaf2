package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/eval"
	"github.com/contrastive-go/contrastive/infer"
	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/models"
)

func init() {
	register("eval", "kNN, linear probe, alignment and uniformity of a trained encoder", runEval)
}

// evalResult is what eval reports; the JSON keys are part of the CLI's interface.
type evalResult struct {
	KNNTop1    float64 `json:"knn_top1"`
	KNNTop5    float64 `json:"knn_top5"`
	LinearTop1 float64 `json:"linear_top1"`
	Alignment  float64 `json:"alignment"`
	Uniformity float64 `json:"uniformity"`
	RawKNNTop1 float64 `json:"raw_knn_top1"`
	// UntrainedKNNTop1 is the kNN top-1 of the same architecture at its initialisation (--untrained).
	UntrainedKNNTop1 *float64 `json:"untrained_knn_top1,omitempty"`
	Split            string   `json:"split"`
	Bank             int      `json:"bank"`
	Queries          int      `json:"queries"`
	FeatureDim       int      `json:"feature_dim"`
	Seconds          float64  `json:"seconds"`
}

type evalOptions struct {
	spec         string
	holdout      float64
	seed         uint64
	linear       bool
	linearEpochs int
	untrained    bool // also score the untrained encoder
	skipBad      bool
	log          io.Writer
}

// evaluate scores md's encoder on spec by the protocol of DESIGN.md: memory bank = training split,
// queries = test split (or a seeded stratified hold-out of a single folder), features h.
func evaluate(md *modeldir.ModelDir, o evalOptions) (*evalResult, error) {
	start := time.Now()
	ch := md.Channels()
	size := md.Config.ImageSize
	trainDS, err := data.OpenForModel(o.spec, data.ModelOptions{Channels: ch, Size: size, SkipBad: o.skipBad}, o.log)
	if err != nil {
		return nil, err
	}
	if trainDS.Classes() == nil {
		return nil, fmt.Errorf("%s is unlabelled: evaluation needs labels (class-per-subfolder folders, Fashion-MNIST, CIFAR, a CSV label column)", o.spec)
	}
	res := &evalResult{}
	var bankDS, queryDS data.Dataset
	if testDS, err := data.OpenForModel(o.spec, data.ModelOptions{Split: "test", Channels: ch, Size: size, SkipBad: o.skipBad}, nil); err == nil && testDS.Len() != trainDS.Len() {
		bankDS, queryDS = trainDS, testDS
		res.Split = "train split as memory bank, test split as queries"
	} else {
		labels, err := data.Labels(trainDS)
		if err != nil {
			return nil, err
		}
		b, q := eval.StratifiedSplit(labels, o.holdout, o.seed)
		if len(q) == 0 {
			return nil, fmt.Errorf("%s has too few samples per class for a %.0f%% hold-out", o.spec, 100*o.holdout)
		}
		bankDS, queryDS = data.Subset(trainDS, b), data.Subset(trainDS, q)
		res.Split = fmt.Sprintf("seeded stratified hold-out (seed %d): %.0f%% of each class as queries, the rest as memory bank", o.seed, 100*o.holdout)
	}
	first, err := bankDS.Get(0)
	if err != nil {
		return nil, err
	}
	t, err := md.EvalTransform(first.Image.H, first.Image.C)
	if err != nil {
		return nil, err
	}
	progress := func(what string) func(done, total int) {
		return func(done, total int) {
			if o.log != nil && done == total {
				fmt.Fprintf(o.log, "embedded %s: %d images\n", what, total)
			}
		}
	}
	bank, err := infer.Embed(md.Model, bankDS, t, infer.Options{Progress: progress("memory bank")})
	if err != nil {
		return nil, err
	}
	q, err := infer.Embed(md.Model, queryDS, t, infer.Options{Progress: progress("queries")})
	if err != nil {
		return nil, err
	}
	bf := eval.Features{N: bank.N, D: bank.D, Data: bank.Data}
	qf := eval.Features{N: q.N, D: q.D, Data: q.Data}
	res.Bank, res.Queries, res.FeatureDim = bank.N, q.N, bank.D
	k, err := eval.KNN(bf, bank.Labels, qf, q.Labels, eval.KNNOptions{})
	if err != nil {
		return nil, err
	}
	res.KNNTop1, res.KNNTop5 = k.Top1, k.Top5

	// Raw pixels on the same split: the baseline a representation must beat.
	rawBank, rawBankLabels, err := rawFeatures(bankDS)
	if err != nil {
		return nil, err
	}
	rawQ, rawQLabels, err := rawFeatures(queryDS)
	if err != nil {
		return nil, err
	}
	rk, err := eval.KNN(rawBank, rawBankLabels, rawQ, rawQLabels, eval.KNNOptions{})
	if err != nil {
		return nil, err
	}
	res.RawKNNTop1 = rk.Top1

	// The same architecture untrained: what training must add to the inductive bias alone.
	if o.untrained {
		init, err := models.Build(md.Model.Config, md.Config.Seed)
		if err != nil {
			return nil, fmt.Errorf("building the untrained encoder: %w", err)
		}
		ub, err := infer.Embed(init, bankDS, t, infer.Options{})
		if err != nil {
			return nil, err
		}
		uq, err := infer.Embed(init, queryDS, t, infer.Options{})
		if err != nil {
			return nil, err
		}
		uk, err := eval.KNN(eval.Features{N: ub.N, D: ub.D, Data: ub.Data}, ub.Labels, eval.Features{N: uq.N, D: uq.D, Data: uq.Data}, uq.Labels, eval.KNNOptions{})
		if err != nil {
			return nil, err
		}
		res.UntrainedKNNTop1 = &uk.Top1
	}

	// Alignment over two augmented views of the queries (the training augmentation), uniformity
	// over the queries' features; both on L2-normalised h (Wang & Isola 2020).
	if v1, v2, err := viewFeatures(md, queryDS, first.Image.H, first.Image.C, o.seed); err == nil {
		res.Alignment, _ = eval.Alignment(v1, v2, 2)
	} else if o.log != nil {
		fmt.Fprintf(o.log, "alignment skipped: %v\n", err)
	}
	res.Uniformity, err = eval.Uniformity(qf, eval.UniformityOptions{MaxSamples: 5000, Seed: o.seed})
	if err != nil {
		return nil, err
	}
	if o.linear {
		if o.log != nil {
			fmt.Fprintf(o.log, "linear probe: %d epochs of Adam on %d frozen %d-d features...\n", o.linearEpochs, bank.N, bank.D)
		}
		lp, err := eval.LinearProbe(bf, bank.Labels, qf, q.Labels, eval.LinearOptions{Epochs: o.linearEpochs, Seed: o.seed})
		if err != nil {
			return nil, err
		}
		res.LinearTop1 = lp.TestTop1
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// rawFeatures flattens every image of ds to a row (values in [0, 1]).
func rawFeatures(ds data.Dataset) (eval.Features, []int, error) {
	return eval.FromDataset(ds)
}

// viewFeatures embeds two augmented views of (up to 5000 of) ds's images.
func viewFeatures(md *modeldir.ModelDir, ds data.Dataset, size, channels int, seed uint64) (eval.Features, eval.Features, error) {
	views, err := augment.Preset(md.Config.Augment, size, channels)
	if err != nil || len(views) < 2 {
		return eval.Features{}, eval.Features{}, fmt.Errorf("no two-view augmentation for preset %q", md.Config.Augment)
	}
	if ds.Len() > 5000 {
		ds = data.Subset(ds, rand.New(rand.NewPCG(seed, 3)).Perm(ds.Len())[:5000])
	}
	a, err := infer.Embed(md.Model, ds, seeded{views[0], seed}, infer.Options{})
	if err != nil {
		return eval.Features{}, eval.Features{}, err
	}
	b, err := infer.Embed(md.Model, ds, seeded{views[1], seed + 1}, infer.Options{})
	if err != nil {
		return eval.Features{}, eval.Features{}, err
	}
	return eval.Features{N: a.N, D: a.D, Data: a.Data}, eval.Features{N: b.N, D: b.D, Data: b.Data}, nil
}

// seeded ignores the caller's generator and draws from its own seeded one, so augmented views
// differ between images and between the two views.
type seeded struct {
	t    augment.Transform
	seed uint64
}

func (s seeded) Apply(img data.Image, rng *rand.Rand) data.Image {
	return s.t.Apply(img, rand.New(rand.NewPCG(s.seed, uint64(len(img.Pix))^rng.Uint64())))
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", "eval --model DIR --data PATH|fashion-mnist [--skip-bad] [--json]", stderr)
	dir := fs.String("model", "", "model directory written by train")
	spec := fs.String("data", "fashion-mnist", "labelled dataset: fashion-mnist, a class-per-subfolder folder, CIFAR, ...")
	var holdout float64
	floatFlag(fs, &holdout, "holdout", 0.2, openUnit, "fraction of each class used as queries when the data has no test split")
	seed := fs.Uint64("seed", 1, "seed of the hold-out split and the alignment views")
	var linearEpochs, size int
	intFlag(fs, &linearEpochs, "linear-epochs", 30, nonNegInt, "linear-probe epochs (0 skips the probe)")
	imageSizeFlag(fs, &size)
	untrained := fs.Bool("untrained", false, "also score the untrained encoder of the same architecture (its initialisation)")
	skipBad := fs.Bool("skip-bad", false, "skip unreadable images (listed in a summary) instead of failing")
	jsonOut := fs.Bool("json", false, "print the result as JSON on stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("--model is required (a directory written by 'contrastive train')")
	}
	md, err := openModelDir(*dir, size)
	if err != nil {
		return err
	}
	res, err := evaluate(md, evalOptions{spec: *spec, holdout: holdout, seed: *seed, linear: linearEpochs > 0, linearEpochs: linearEpochs, untrained: *untrained, skipBad: *skipBad, log: stderr})
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "evaluation of %s on %s (%s; %d bank, %d queries, h %d-d)\n", *dir, *spec, res.Split, res.Bank, res.Queries, res.FeatureDim)
	fmt.Fprintf(stdout, "  kNN top-1 (k=200, T=0.1)  %.4f   (raw pixels: %.4f)\n", res.KNNTop1, res.RawKNNTop1)
	if u := res.UntrainedKNNTop1; u != nil {
		fmt.Fprintf(stdout, "  kNN top-1, untrained      %.4f   (the same encoder at its initialisation)\n", *u)
	}
	fmt.Fprintf(stdout, "  kNN top-5                 %.4f\n", res.KNNTop5)
	if linearEpochs > 0 {
		fmt.Fprintf(stdout, "  linear probe top-1        %.4f\n", res.LinearTop1)
	}
	fmt.Fprintf(stdout, "  alignment                 %.4f   (lower is better)\n", res.Alignment)
	fmt.Fprintf(stdout, "  uniformity                %.4f   (lower is better)\n", res.Uniformity)
	return nil
}
