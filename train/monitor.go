package train

import (
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/eval"
	"github.com/contrastive-go/contrastive/infer"
	"github.com/contrastive-go/contrastive/models"
)

// monitor is the online kNN check: a labelled memory bank from the training data and queries from
// the test split (or a stratified hold-out when the data has none), both through the evaluation
// transform, scored with the protocol's weighted kNN on h.
type monitor struct {
	bank, queries data.Dataset
	transform     augment.Transform
}

// newMonitor returns nil when the data is unlabelled (no kNN possible) or the monitor is off.
func newMonitor(cfg Config, ds data.Dataset, channels int, log io.Writer) *monitor {
	if cfg.KNNEvery < 0 || ds.Classes() == nil {
		return nil
	}
	first, err := ds.Get(0)
	if err != nil {
		return nil
	}
	t, err := augment.Eval(cfg.Augment, first.Image.H, first.Image.C)
	if err != nil {
		return nil
	}
	limit := cfg.MonitorSize
	if limit <= 0 {
		limit = 10000
	}
	m := &monitor{transform: t}
	if test, err := data.OpenForModel(cfg.Data, data.ModelOptions{Split: "test", Channels: channels, Size: cfg.ImageSize, SkipBad: cfg.SkipBad}, nil); err == nil && test.Len() > 0 && test.Len() != ds.Len() {
		m.bank = sample(ds, limit, cfg.Seed)
		m.queries = sample(test, limit, cfg.Seed+1)
		return m
	}
	labels, err := data.Labels(ds)
	if err != nil {
		return nil
	}
	bankIdx, queryIdx := eval.StratifiedSplit(labels, 0.2, cfg.Seed)
	m.bank = sample(data.Subset(ds, bankIdx), limit, cfg.Seed)
	m.queries = sample(data.Subset(ds, queryIdx), limit, cfg.Seed+1)
	if log != nil {
		fmt.Fprintf(log, "kNN monitor: no test split in %s, using a stratified 20%% hold-out of the training data\n", cfg.Data)
	}
	return m
}

// sample returns a seeded random subset of at most n samples.
func sample(ds data.Dataset, n int, seed uint64) data.Dataset {
	if ds.Len() <= n {
		return ds
	}
	perm := rand.New(rand.NewPCG(seed, 0x6d6f6e)).Perm(ds.Len())[:n]
	return data.Subset(ds, perm)
}

func (m *monitor) knn(model *models.Model) (float64, error) {
	bank, err := infer.Embed(model, m.bank, m.transform, infer.Options{})
	if err != nil {
		return 0, fmt.Errorf("kNN monitor: %w", err)
	}
	q, err := infer.Embed(model, m.queries, m.transform, infer.Options{})
	if err != nil {
		return 0, fmt.Errorf("kNN monitor: %w", err)
	}
	return m.score(bank, q)
}

// score is the weighted kNN top-1 accuracy of the queries q against the bank.
func (m *monitor) score(bank, q *infer.Result) (float64, error) {
	r, err := eval.KNN(eval.Features{N: bank.N, D: bank.D, Data: bank.Data}, bank.Labels,
		eval.Features{N: q.N, D: q.D, Data: q.Data}, q.Labels, eval.KNNOptions{})
	if err != nil {
		return 0, fmt.Errorf("kNN monitor: %w", err)
	}
	return r.Top1, nil
}

// hook scores the encoder after the epochs the configuration names (every KNNEvery epochs and
// after the last), puts the score into the epoch's metrics as "knn_top1" and runs the
// evaluation hooks. On several ranks every rank runs it (knnSharded): rank 0 records the score
// and runs the evaluation hooks, and every rank's result carries it.
func (m *monitor) hook() Hook {
	return Hook{
		Name: "knn-monitor",
		EpochEnd: func(t *Trainer, e *EpochEnd) error {
			every := t.Config.KNNEvery
			if e.Epoch != t.Config.Epochs && (every <= 0 || e.Epoch%every != 0) {
				return nil
			}
			var acc float64
			var err error
			if t.distributed() {
				acc, err = m.knnSharded(t)
			} else {
				acc, err = m.knn(t.Model)
			}
			if err != nil {
				return err
			}
			t.knn = acc
			if !t.rank0() {
				return nil
			}
			e.Metrics["knn_top1"] = acc
			ev := &Evaluation{Epoch: e.Epoch, KNNTop1: acc}
			for _, h := range t.hooks {
				if h.Evaluation != nil {
					if err := h.Evaluation(t, ev); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
}
