package train

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/internal/mpitest"
)

const knnRefEnv = "CONTRASTIVE_DIST_KNN_REF"

// monitorConfig is distConfig with the kNN monitor on 501 bank images and 501 queries (shares
// of 250 and 251 on 2 ranks).
func monitorConfig(out string) Config {
	cfg := distConfig("simclr", out)
	cfg.KNNEvery, cfg.MonitorSize = 0, 501
	return cfg
}

// TestKNNMonitorShardedEqualsOneProcess: 2 ranks, each embedding its share of the monitor's
// images, score the model as one process does — also when rank 1's BatchNorm running statistics
// differ from rank 0's (per-rank BatchNorm): rank 0's model is the one scored, and rank 1 keeps
// its own statistics afterwards.
func TestKNNMonitorShardedEqualsOneProcess(t *testing.T) {
	if !mpitest.Rank() {
		tr, err := New(monitorConfig(filepath.Join(t.TempDir(), "run")), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Loader.Close()
		if tr.mon == nil {
			t.Fatal("no kNN monitor")
		}
		acc, err := tr.mon.knn(tr.Model)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("one process: kNN top-1 %v", acc)
		mpitest.Run(t, mpitest.Job{NP: 2, Env: []string{knnRefEnv + "=" + strconv.FormatFloat(acc, 'g', -1, 64), distOutEnv + "=" + t.TempDir()}, Timeout: 2 * time.Minute})
		return
	}
	comm := mpitest.Join(t)
	want, err := strconv.ParseFloat(os.Getenv(knnRefEnv), 64)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(monitorConfig(filepath.Join(os.Getenv(distOutEnv), "run")), Options{Comm: comm})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Loader.Close()
	var own []float32
	if comm.Rank() == 1 { // statistics of its own, as with --sync-bn off
		for _, b := range tr.Model.Buffers() {
			if !b.Int {
				for i := range b.Value.Data {
					b.Value.Data[i] = b.Value.Data[i]*1.5 + 0.25
				}
				own = append(own, b.Value.Data...)
			}
		}
	}
	got, err := tr.mon.knnSharded(tr)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("rank %d: kNN top-1 %v on 2 ranks, %v on one process", comm.Rank(), got, want)
	}
	if comm.Rank() == 1 {
		var after []float32
		for _, b := range tr.Model.Buffers() {
			if !b.Int {
				after = append(after, b.Value.Data...)
			}
		}
		for i := range own {
			if after[i] != own[i] {
				t.Fatalf("rank 1's running statistic %d is %v after the monitor, was %v", i, after[i], own[i])
			}
		}
	}
	if comm.Rank() == 0 {
		t.Logf("2 ranks: kNN top-1 %v", got)
	}
}

const knnDataEnv = "CONTRASTIVE_DIST_KNN_DATA"

// knnRunConfig is a 2-epoch run on a folder of 4 × 40 images with the kNN monitor after each
// epoch (a stratified hold-out: the folder has no test split).
func knnRunConfig(data, out string) Config {
	cfg := tinyConfig(data, out)
	cfg.Workers, cfg.KNNEvery, cfg.Optimizer, cfg.LR = 1, 1, "sgd", 0.05
	return cfg
}

// TestKNNMonitorDuringDataParallelRun: in a 2-rank run every rank takes part in the monitor
// after each epoch; rank 0's metrics carry the scores one process gets, and every rank's result
// the last one.
func TestKNNMonitorDuringDataParallelRun(t *testing.T) {
	if !mpitest.Rank() {
		root := writeFolder(t, 4, 40)
		one := filepath.Join(t.TempDir(), "one")
		res, err := Run(context.Background(), knnRunConfig(root, one), nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		mpitest.Run(t, mpitest.Job{NP: 2, Env: []string{knnRefEnv + "=" + strconv.FormatFloat(res.KNNTop1, 'g', -1, 64), knnDataEnv + "=" + root,
			distOutEnv + "=" + dir}, Timeout: 2 * time.Minute})
		want, got := knnScores(t, one), knnScores(t, filepath.Join(dir, "two"))
		if len(want) != 2 || !slices.Equal(got, want) {
			t.Errorf("kNN top-1 after each epoch: %v on 2 ranks, %v on one process (want 2 each, equal)", got, want)
		}
		t.Logf("kNN top-1 after each epoch: %v on 2 ranks and on one process", got)
		return
	}
	comm := mpitest.Join(t)
	out := filepath.Join(os.Getenv(distOutEnv), "two")
	tr, err := New(knnRunConfig(os.Getenv(knnDataEnv), out), Options{Comm: comm})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := strconv.ParseFloat(os.Getenv(knnRefEnv), 64)
	if res.KNNTop1 != want {
		t.Errorf("rank %d: result's kNN top-1 %v, one process %v", comm.Rank(), res.KNNTop1, want)
	}
}

// knnScores returns the knn_top1 values of a run's metrics, in order.
func knnScores(t *testing.T, dir string) []float64 { return metricValues(t, dir, "knn_top1") }
