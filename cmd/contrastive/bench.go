package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/bench"
	"github.com/contrastive-go/contrastive/blas"
)

func init() {
	register("bench", "time the reference SimCLR step (images/s) and GEMM (GFLOP/s)", runBench)
}

type benchResult struct {
	Bench          string             `json:"bench"`
	Model          string             `json:"model"`
	ImagesPerSec   float64            `json:"images_per_s"`
	SecondsPerStep float64            `json:"seconds_per_step"`
	Batch          int                `json:"batch"`
	Params         int                `json:"params"`
	Data           string             `json:"data"`
	GEMMBackend    string             `json:"gemm_backend"`
	GEMMDescribe   string             `json:"gemm_describe"`
	GEMMGFLOPS     float64            `json:"gemm_gflops"`
	GEMM           []bench.GEMMResult `json:"gemm"`
	Precision      string             `json:"precision"`
	Threads        int                `json:"threads"`
	Load1          float64            `json:"load1"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [--model reference|resnet18] [--steps 8 --warmup 2 --batch 256] [--gemm go|openblas] [--json]", stderr)
	model := fs.String("model", "reference", "the step to time: reference (the reference CNN on 28x28, peer ../shared/bench/torch_ref.py step) or resnet18 (ResNet-18, ImageNet stem, 3x96x96, peer bench/torch_simclr_resnet18.py)")
	var stepsV, warmupV, batchV int
	steps, warmup, batch := &stepsV, &warmupV, &batchV
	intFlag(fs, steps, "steps", 8, positiveInt, "timed steps (the median is reported)")
	intFlag(fs, warmup, "warmup", 2, nonNegInt, "untimed warm-up steps")
	intFlag(fs, batch, "batch", 0, atLeast(2), "images per step, each giving two views (default 256 for reference, 64 for resnet18)")
	backend := fs.String("gemm", "", "force a GEMM backend: "+fmt.Sprint(blas.Available()))
	precision := fs.String("precision", "", "the convolutions' products: fp32|bf16 (see train --precision; default: $CONTRASTIVE_PRECISION, else fp32)")
	jsonOut := fs.Bool("json", false, "print the result as JSON on stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *precision == "" {
		*precision = autodiff.EnvPrecision()
	}
	if err := autodiff.SetConvPrecision(*precision); err != nil {
		return fmt.Errorf("--precision %q: %w", *precision, err)
	}
	newStep, peer, defBatch := bench.NewStep, "../shared/bench/torch_ref.py step", 256
	switch *model {
	case "reference":
	case "resnet18":
		newStep, peer, defBatch = bench.NewResNet18Step, "bench/torch_simclr_resnet18.py", 64
	default:
		return fmt.Errorf("--model %q: want reference or resnet18", *model)
	}
	if *batch == 0 {
		*batch = defBatch
	}
	if *backend != "" {
		if err := blas.Use(*backend); err != nil {
			return err
		}
	}
	res := benchResult{Bench: "simclr_step", Model: *model, Precision: autodiff.ConvPrecision(), GEMMBackend: blas.Default().Name(), GEMMDescribe: blas.Describe(), Threads: bench.Threads(), Load1: bench.Load1()}
	for _, s := range [][3]int{{1024, 1152, 256}, {2048, 2048, 2048}} {
		res.GEMM = append(res.GEMM, bench.GEMM(s[0], s[1], s[2], 5))
	}
	res.GEMMGFLOPS = res.GEMM[len(res.GEMM)-1].GFLOPS
	st, err := newStep(*batch)
	if err != nil {
		return err
	}
	r := st.Measure(*steps, *warmup)
	res.ImagesPerSec, res.SecondsPerStep, res.Batch, res.Params, res.Data = r.ImagesPerSec, r.SecondsPerStep, r.Batch, r.Params, r.Data
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "GEMM backend: %s\n", res.GEMMDescribe)
	for _, g := range res.GEMM {
		fmt.Fprintf(stdout, "  sgemm %dx%dx%d: %.1f GFLOP/s\n", g.M, g.K, g.N, g.GFLOPS)
	}
	fmt.Fprintf(stdout, "SimCLR step, %s model (%d parameters), %d images x 2 views (%s), %s convolutions:\n", res.Model, res.Params, res.Batch, res.Data, res.Precision)
	fmt.Fprintf(stdout, "  %.3f s/step, %.0f images/s  (%d threads, load %.2f)\n", res.SecondsPerStep, res.ImagesPerSec, res.Threads, res.Load1)
	if res.Precision == "bf16" {
		fmt.Fprintln(stdout, "  "+autodiff.BF16Note(autodiff.BF16Speedup()))
	}
	fmt.Fprintln(stdout, "compare: "+peer)
	return nil
}
