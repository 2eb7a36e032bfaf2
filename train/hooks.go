package train

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/modeldir"
)

// Hook is code run at the events of a training run, in the manner of PyTorch Lightning's
// callbacks: each field is optional. A hook reads the Trainer's fields, may add values to an
// event's Metrics (the standard metrics hook logs them), and may call Trainer.Stop. An error
// from a hook ends the run with that error (End hooks still run).
//
//	t, _ := train.New(cfg, train.Options{Log: os.Stderr})
//	t.AddHook(train.Hook{Name: "early-stop", EpochEnd: func(t *train.Trainer, e *train.EpochEnd) error {
//		if knn, ok := e.Metrics["knn_top1"]; ok && knn < best { t.Stop("early stopping") }
//		return nil
//	}})
//	res, err := t.Run(ctx)
type Hook struct {
	Name string
	// Start runs once before the first step (of this leg of the run).
	Start func(t *Trainer) error
	// StepEnd runs after every optimizer step.
	StepEnd func(t *Trainer, e *StepEnd) error
	// EpochEnd runs after every epoch, the kNN monitor's value already in e.Metrics when it ran.
	EpochEnd func(t *Trainer, e *EpochEnd) error
	// Evaluation runs when the kNN monitor has scored the encoder.
	Evaluation func(t *Trainer, e *Evaluation) error
	// Checkpoint runs after a checkpoint has been written.
	Checkpoint func(t *Trainer, e *CheckpointSaved) error
	// End runs once when the run ends: res is its result (nil with err on failure).
	End func(t *Trainer, res *Result, err error) error
}

// StepEnd is the event after an optimizer step.
type StepEnd struct {
	Epoch        int // 1-based epoch the step belongs to
	Step         int // 1-based step within the epoch
	GlobalStep   int // steps since the start of the run
	Loss, LR     float64
	ImagesPerSec float64
	Metrics      map[string]float64 // values hooks add, logged with the step
}

// EpochEnd is the event after an epoch.
type EpochEnd struct {
	Epoch        int // epochs done (1-based number of the epoch that ended)
	GlobalStep   int
	Steps        int     // steps in this epoch in this leg (fewer after a resume inside it)
	Loss         float64 // mean loss of those steps
	ImagesPerSec float64
	Metrics      map[string]float64
}

// Evaluation is the kNN monitor's score of the encoder.
type Evaluation struct {
	Epoch   int
	KNNTop1 float64
}

// CheckpointSaved is the event after a checkpoint was written.
type CheckpointSaved struct {
	Path     string
	Position Position
}

// MetricsHook appends a line per logged step (every Config.LogEvery steps) and per epoch to
// metrics.jsonl in the model directory. On resume it keeps the lines up to the checkpoint's step.
func MetricsHook() Hook {
	var m *metricsLog
	return Hook{
		Name: "metrics",
		Start: func(t *Trainer) error {
			var err error
			m, err = openMetrics(filepath.Join(t.Config.Out, modeldir.MetricsFile), t.pos.GlobalStep)
			return err
		},
		StepEnd: func(t *Trainer, e *StepEnd) error {
			if t.Config.LogEvery > 0 && e.GlobalStep%t.Config.LogEvery == 0 {
				line := map[string]any{"step": e.GlobalStep, "epoch": e.Epoch - 1, "loss": e.Loss, "lr": e.LR, "images_per_s": round(e.ImagesPerSec), "elapsed_s": round(t.Elapsed().Seconds()), "world_size": t.WorldSize()}
				for k, v := range e.Metrics {
					line[k] = v
				}
				m.Write(line)
			}
			return nil
		},
		EpochEnd: func(t *Trainer, e *EpochEnd) error {
			line := map[string]any{"epoch_end": e.Epoch, "step": e.GlobalStep, "elapsed_s": round(t.Elapsed().Seconds()), "world_size": t.WorldSize()}
			if e.Steps > 0 {
				line["epoch_loss"] = e.Loss
				line["epoch_images_per_s"] = round(e.ImagesPerSec)
			}
			for k, v := range e.Metrics {
				line[k] = v
			}
			m.Write(line)
			return nil
		},
		End: func(*Trainer, *Result, error) error {
			if m != nil {
				return m.Close()
			}
			return nil
		},
	}
}

// ProgressHook shows the run on log: what is trained, a progress line (images/s, loss, ETA) and
// a line per epoch. A nil log gives a hook that does nothing.
func ProgressHook(log io.Writer) Hook {
	if log == nil {
		return Hook{Name: "progress"}
	}
	p := NewProgress(log)
	status := func(t *Trainer, loss, lr, ips float64) Status {
		return Status{Epoch: t.pos.Epoch + 1, Epochs: t.Config.Epochs, Step: t.pos.GlobalStep, Steps: t.TotalSteps, Loss: loss, LR: lr, ImagesPerSecond: ips, Processes: t.WorldSize()}
	}
	return Hook{
		Name: "progress",
		Start: func(t *Trainer) error {
			fmt.Fprintf(log, "training %s on %s: %d samples, %d steps/epoch × %d epochs, model %s (%d parameters, h %d-d)\n",
				t.Config.Method, t.Config.Data, t.Data.Len(), t.StepsPerEpoch, t.Config.Epochs, t.Model.Config.Name, t.Model.NumParams(), t.Model.FeatureDim)
			if t.Config.Precision == "bf16" {
				fmt.Fprintln(log, "precision: bf16 convolutions (bfloat16 operands, float32 sums, float32 weights and everything else); "+autodiff.BF16Note(autodiff.BF16Speedup()))
			}
			if n := t.WorldSize(); n > 1 {
				bn := "synchronised BatchNorm"
				if !t.Config.syncBN(n) || t.Config.Method == "moco-v2" {
					bn = "per-process BatchNorm"
				}
				lib, _, _ := strings.Cut(t.Comm.Name(), ",") // "Open MPI v4.1.4"
				fmt.Fprintf(log, "on %d processes (%s): each trains %d images of every global batch of %d, gradients averaged in %d bucket(s), %s\n",
					n, lib, t.Config.BatchSize/n, t.Config.BatchSize, t.avg.Buckets(), bn)
			}
			if t.pos.GlobalStep > 0 {
				fmt.Fprintf(log, "resuming at epoch %d/%d, step %d/%d\n", t.pos.Epoch+1, t.Config.Epochs, t.pos.GlobalStep+1, t.TotalSteps)
				if was, n := t.pos.WorldSize, t.WorldSize(); was > 0 && was != n {
					fmt.Fprintf(log, "the run was checkpointed on %d processes and resumes on %d: the global batch of %d is unchanged, so it goes on as it would have\n", was, n, t.Config.BatchSize)
				}
			}
			return nil
		},
		StepEnd: func(t *Trainer, e *StepEnd) error {
			p.Update(status(t, e.Loss, e.LR, e.ImagesPerSec), false)
			return nil
		},
		EpochEnd: func(t *Trainer, e *EpochEnd) error {
			msg := fmt.Sprintf("epoch %d/%d done", e.Epoch, t.Config.Epochs)
			if e.Steps > 0 {
				msg += fmt.Sprintf(": loss %.4f, %.0f images/s", e.Loss, e.ImagesPerSec)
			}
			if v, ok := e.Metrics["knn_top1"]; ok {
				msg += fmt.Sprintf(", monitor kNN top-1 %.4f", v)
			}
			p.Println(msg)
			return nil
		},
		End: func(t *Trainer, res *Result, err error) error {
			p.Done()
			return nil
		},
	}
}

// CheckpointHook saves the run (Trainer.SaveCheckpoint) at the end of every epoch, every
// Config.CheckpointEvery inside an epoch, and when the run stops early.
func CheckpointHook() Hook {
	return Hook{
		Name: "checkpoint",
		StepEnd: func(t *Trainer, e *StepEnd) error {
			if every := time.Duration(t.Config.CheckpointEvery); every > 0 && time.Since(t.lastSaved) >= every {
				return t.SaveCheckpoint()
			}
			return nil
		},
		EpochEnd: func(t *Trainer, e *EpochEnd) error { return t.SaveCheckpoint() },
		End: func(t *Trainer, res *Result, err error) error {
			if err == nil && res != nil && res.Stopped != "" {
				return t.SaveCheckpoint()
			}
			return nil
		},
	}
}
