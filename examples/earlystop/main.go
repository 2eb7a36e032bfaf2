// Command earlystop trains SimCLR through the library with a hook of its own: early stopping on
// the kNN monitor, and a metric of its own (the spread of the step losses) in metrics.jsonl.
//
//	go run ./examples/earlystop -data fashion-mnist -out es-run
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"os"

	"github.com/contrastive-go/contrastive/train"
)

func main() {
	dataSpec := flag.String("data", "fashion-mnist:embedded", "dataset (see contrastive train --help)")
	out := flag.String("out", "earlystop-run", "model directory")
	patience := flag.Int("patience", 2, "stop after this many kNN evaluations without improvement")
	flag.Parse()

	cfg := train.Default() // the default recipe: SimCLR, small CNN, Adam, cosine schedule
	cfg.Data, cfg.Out, cfg.Epochs, cfg.KNNEvery = *dataSpec, *out, 30, 1
	t, err := train.New(cfg, train.Options{Log: os.Stderr})
	if err != nil {
		log.Fatal(err)
	}

	// Our own metric: the standard deviation of the losses of the epoch's steps.
	var sum, sumSq, n float64
	best, stale := 0.0, 0
	t.AddHook(train.Hook{
		Name: "early-stopping",
		StepEnd: func(t *train.Trainer, e *train.StepEnd) error {
			sum, sumSq, n = sum+e.Loss, sumSq+e.Loss*e.Loss, n+1
			return nil
		},
		EpochEnd: func(t *train.Trainer, e *train.EpochEnd) error {
			if n > 1 {
				e.Metrics["loss_std"] = math.Sqrt(max(0, (sumSq-sum*sum/n)/(n-1)))
			}
			sum, sumSq, n = 0, 0, 0
			knn, ok := e.Metrics["knn_top1"] // put there by the kNN monitor, which runs first
			if !ok {
				return nil
			}
			if knn > best+0.001 {
				best, stale = knn, 0
			} else if stale++; stale >= *patience {
				t.Stop(fmt.Sprintf("no kNN gain for %d epochs (best %.4f)", stale, best))
			}
			return nil
		},
	})
	res, err := t.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d epochs, best kNN top-1 %.4f, stopped: %q; model in %s\n", res.Epochs, best, res.Stopped, res.Dir)
}
