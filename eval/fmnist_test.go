package eval

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/blas"
)

// fmnistDir is where Debian's dataset-fashion-mnist installs the gzipped IDX files.
const fmnistDir = "/usr/share/datasets/fashion-mnist"

// readIDX reads a gzipped IDX file: its dimensions and its unsigned-byte payload. (A tiny local
// reader, so these tests do not depend on the data package.)
func readIDX(path string) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var magic [4]byte
	if _, err := io.ReadFull(zr, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 {
		return nil, nil, fmt.Errorf("reading %s: not an unsigned-byte IDX file (magic % x)", path, magic)
	}
	dims := make([]int, magic[3])
	size := 1
	for i := range dims {
		var v uint32
		if err := binary.Read(zr, binary.BigEndian, &v); err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", path, err)
		}
		dims[i] = int(v)
		size *= dims[i]
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(zr, buf); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return dims, buf, nil
}

// loadFashionMNIST returns the raw pixels (v/255) and labels of one split ("train" or "t10k"),
// skipping the test when the dataset is not installed.
func loadFashionMNIST(t testing.TB, split string) (Features, []int) {
	t.Helper()
	imgPath := filepath.Join(fmnistDir, split+"-images-idx3-ubyte.gz")
	if _, err := os.Stat(imgPath); err != nil {
		t.Skipf("Fashion-MNIST not installed (%v): apt-get install dataset-fashion-mnist", err)
	}
	dims, pix, err := readIDX(imgPath)
	if err != nil {
		t.Fatal(err)
	}
	_, lab, err := readIDX(filepath.Join(fmnistDir, split+"-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := FromBytes(dims[0], dims[1]*dims[2], pix)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int, len(lab))
	for i, v := range lab {
		labels[i] = int(v)
	}
	return f, labels
}

// TestFashionMNISTRawPixelKNN: under the protocol (k = 200, T = 0.1, train split as the bank,
// test split as queries) raw pixels score 0.789 top-1 — the baseline DESIGN.md quotes. Run with
// CONTRASTIVE_LONG=1.
func TestFashionMNISTRawPixelKNN(t *testing.T) {
	if testing.Short() || os.Getenv("CONTRASTIVE_LONG") == "" {
		// ≈14 CPU-seconds (a 10000×60000×784 GEMM plus top-200 selection): about 7 s on two idle
		// cores with OpenBLAS, but well over the package's 30 s budget on a shared, loaded machine.
		t.Skip("raw-pixel kNN on 60k×10k Fashion-MNIST; set CONTRASTIVE_LONG=1 (and no -short) to run")
	}
	train, trainY := loadFashionMNIST(t, "train")
	test, testY := loadFashionMNIST(t, "t10k")
	start := time.Now()
	res, err := KNN(train, trainY, test, testY, KNNOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("raw-pixel kNN: top-1 %.4f, top-5 %.4f in %v (blas %s)", res.Top1, res.Top5, time.Since(start), blas.Default().Name())
	if res.Top1 < 0.784 || res.Top1 > 0.794 {
		t.Errorf("raw-pixel kNN top-1 %.4f, want 0.789 ± 0.005", res.Top1)
	}
}

// TestFashionMNISTRawPixelLinearProbe: the protocol's linear probe on raw pixels scores about
// 0.843. It trains 30 epochs on 60k×784, so it only runs with CONTRASTIVE_LONG=1.
func TestFashionMNISTRawPixelLinearProbe(t *testing.T) {
	if os.Getenv("CONTRASTIVE_LONG") == "" {
		t.Skip("30-epoch linear probe on Fashion-MNIST pixels; set CONTRASTIVE_LONG=1 to run")
	}
	train, trainY := loadFashionMNIST(t, "train")
	test, testY := loadFashionMNIST(t, "t10k")
	start := time.Now()
	res, err := LinearProbe(train, trainY, test, testY, LinearOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("raw-pixel linear probe: test top-1 %.4f, train top-1 %.4f in %v (blas %s); epoch losses %.4f … %.4f",
		res.TestTop1, res.TrainTop1, time.Since(start), blas.Default().Name(), res.EpochLoss[0], res.EpochLoss[len(res.EpochLoss)-1])
	if res.TestTop1 < 0.833 || res.TestTop1 > 0.853 {
		t.Errorf("raw-pixel linear probe top-1 %.4f, want about 0.843 (± 0.01)", res.TestTop1)
	}
}

// BenchmarkKNN is the protocol's kNN at the size of a Fashion-MNIST evaluation of a 128-d
// representation: a 60000×128 bank, 10000 queries, k = 200, 10 classes (synthetic features).
func BenchmarkKNN(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	bank := randomFeatures(r, 60000, 128)
	queries := randomFeatures(r, 10000, 128)
	labels := make([]int, bank.N)
	for i := range labels {
		labels[i] = r.IntN(10)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := KNN(bank, labels, queries, nil, KNNOptions{Classes: 10}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(queries.N)*float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}
