package train_test

import (
	"context"
	"fmt"
	"os"

	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/train"
)

// A run with a hook of one's own: it adds a metric to every step's metrics line and stops the
// run after three steps (an early stop; the checkpoint hook saves the run, so --resume goes on).
func ExampleTrainer() {
	out, _ := os.MkdirTemp("", "example-run")
	defer os.RemoveAll(out)
	cfg := train.Default()
	cfg.Data = "fashion-mnist:embedded" // the 10k images shipped in the binary
	cfg.Out = out
	cfg.BatchSize, cfg.KNNEvery = 32, -1
	cfg.Model = models.Config{Name: models.SmallCNNName, Channels: []int{8, 16}, Strides: []int{2, 2}}

	t, err := train.New(cfg, train.Options{}) // Options.Log: os.Stderr shows progress
	if err != nil {
		fmt.Println(err)
		return
	}
	t.AddHook(train.Hook{
		Name: "my-hook",
		StepEnd: func(t *train.Trainer, e *train.StepEnd) error {
			e.Metrics["lr_per_image"] = e.LR / float64(t.Config.BatchSize) // logged in metrics.jsonl
			if e.GlobalStep == 3 {
				t.Stop("enough for an example")
			}
			return nil
		},
	})
	res, err := t.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d steps of %d, stopped: %s\n", res.Steps, t.TotalSteps, res.Stopped)
	// Output: 3 steps of 1872, stopped: enough for an example
}
