package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/data"
)

// synth is an in-memory dataset of random gray images; Get fails for the indices in bad.
type synth struct {
	imgs []data.Image
	ids  []string
	bad  map[int]bool
}

func newSynth(n, c, h, w int) *synth {
	r := rand.New(rand.NewPCG(1, 2))
	s := &synth{}
	for range n {
		img := data.NewImage(c, h, w)
		for i := range img.Pix {
			img.Pix[i] = r.Float32()
		}
		s.imgs = append(s.imgs, img)
		s.ids = append(s.ids, fmt.Sprint("img", len(s.ids)))
	}
	return s
}

func (s *synth) Len() int          { return len(s.imgs) }
func (s *synth) Classes() []string { return nil }
func (s *synth) Get(i int) (data.Sample, error) {
	if s.bad[i] {
		return data.Sample{}, fmt.Errorf("corrupt file %d", i)
	}
	return data.Sample{Image: s.imgs[i], Label: i % 10, ID: s.ids[i]}, nil
}

func smallGray(t testing.TB) []augment.Transform {
	v, err := augment.Preset("small-gray", 28, 1)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func bytesOf(p []float32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, p)
	return b.Bytes()
}

// epoch collects the bytes, indices and labels of every batch of epoch e.
func epoch(t *testing.T, l *Loader, e int) (out [][]byte, idx [][]int) {
	t.Helper()
	for b, err := range l.All(e) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytesOf(b.Concat()))
		idx = append(idx, append([]int(nil), b.Indices...))
		l.Release(b)
	}
	return out, idx
}

func TestBatchesCoverTheEpoch(t *testing.T) {
	ds := newSynth(100, 1, 32, 32)
	for _, tc := range []struct {
		drop    bool
		batches int
		last    int
	}{{false, 4, 4}, {true, 3, 32}} {
		l, err := New(ds, smallGray(t), Options{BatchSize: 32, DropLast: tc.drop, Shuffle: true, Seed: 3, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]int{}
		n := 0
		for b, err := range l.All(0) {
			if err != nil {
				t.Fatal(err)
			}
			if b.C != 1 || b.H != 28 || b.W != 28 || len(b.Views) != 2 || len(b.Data) != 2*b.N*784 {
				t.Fatalf("batch shape N=%d C=%d H=%d W=%d, %d views, %d values", b.N, b.C, b.H, b.W, len(b.Views), len(b.Data))
			}
			if &b.Views[1][0] != &b.Data[b.N*784] {
				t.Fatalf("views are not stacked view-major in Data")
			}
			for i, k := range b.Indices {
				seen[k]++
				if b.Labels[i] != k%10 || b.IDs[i] != fmt.Sprint("img", k) {
					t.Fatalf("image %d: label %d id %q", k, b.Labels[i], b.IDs[i])
				}
			}
			n++
			if n == tc.batches && b.N != tc.last {
				t.Errorf("last batch has %d images, want %d", b.N, tc.last)
			}
			l.Release(b)
		}
		if n != tc.batches || n != l.Len() {
			t.Errorf("DropLast=%v: %d batches (Len %d), want %d", tc.drop, n, l.Len(), tc.batches)
		}
		for k, c := range seen {
			if c != 1 {
				t.Errorf("index %d seen %d times", k, c)
			}
		}
		if !tc.drop && len(seen) != 100 {
			t.Errorf("%d distinct indices, want 100", len(seen))
		}
		l.Close()
	}
}

func TestBatchesDoNotDependOnWorkers(t *testing.T) {
	ds := newSynth(150, 1, 28, 28)
	var ref [][]byte
	for _, opt := range []Options{{Workers: 1, Prefetch: 1}, {Workers: 2}, {Workers: 5, Prefetch: 4}} {
		opt.BatchSize, opt.Shuffle, opt.Seed = 64, true, 42
		l, err := New(ds, smallGray(t), opt)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := epoch(t, l, 2)
		l.Close()
		if ref == nil {
			ref = got
			continue
		}
		for k := range ref {
			if !bytes.Equal(ref[k], got[k]) {
				t.Fatalf("workers=%d: batch %d differs from workers=1", opt.Workers, k)
			}
		}
	}
}

func TestViewsFollowTheSampleSeed(t *testing.T) {
	ds := newSynth(10, 1, 28, 28)
	views := smallGray(t)
	l, _ := New(ds, views, Options{BatchSize: 10, Seed: 9, Shuffle: true})
	defer l.Close()
	it := l.Epoch(4)
	defer it.Close()
	b, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range b.Indices {
		for v := range views {
			want := views[v].Apply(ds.imgs[k], augment.SampleRNG(9, 4, k, v))
			if !bytes.Equal(bytesOf(b.Views[v][i*784:(i+1)*784]), bytesOf(want.Pix)) {
				t.Fatalf("image %d view %d differs from augment.SampleRNG(9, 4, %d, %d)", k, v, k, v)
			}
		}
		if bytes.Equal(bytesOf(b.Views[0][i*784:(i+1)*784]), bytesOf(b.Views[1][i*784:(i+1)*784])) {
			t.Errorf("image %d: the two views are identical", k)
		}
	}
	if _, err := it.Next(); err != io.EOF {
		t.Errorf("after the last batch: %v, want io.EOF", err)
	}
}

func TestShuffleIsSeededPerEpoch(t *testing.T) {
	ds := newSynth(50, 1, 28, 28)
	l, _ := New(ds, smallGray(t), Options{Shuffle: true, Seed: 1})
	a, b := l.Order(0), l.Order(1)
	if fmt.Sprint(a) == fmt.Sprint(b) {
		t.Errorf("epochs 0 and 1 share an order")
	}
	if fmt.Sprint(a) != fmt.Sprint(l.Order(0)) {
		t.Errorf("epoch 0's order is not reproducible")
	}
	l2, _ := New(ds, smallGray(t), Options{})
	if o := l2.Order(3); o[0] != 0 || o[49] != 49 {
		t.Errorf("unshuffled order %v", o)
	}
}

func goroutinesSettle(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > want {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines, want %d:\n%s", got, want, buf[:runtime.Stack(buf, true)])
	}
}

func TestGetErrorIsReturnedNotPanicked(t *testing.T) {
	before := runtime.NumGoroutine()
	ds := newSynth(100, 1, 28, 28)
	ds.bad = map[int]bool{57: true}
	l, err := New(ds, smallGray(t), Options{BatchSize: 16, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	var got error
	for b, err := range l.All(0) {
		if err != nil {
			got = err
			break
		}
		l.Release(b)
	}
	if got == nil || !bytes.Contains([]byte(got.Error()), []byte("corrupt file 57")) {
		t.Errorf("error %v, want one naming sample 57", got)
	}
	l.Close()
	goroutinesSettle(t, before)
}

func TestCloseMidEpochLeaksNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	ds := newSynth(2000, 1, 28, 28)
	l, _ := New(ds, smallGray(t), Options{BatchSize: 32, Workers: 4, Prefetch: 3})
	it := l.Epoch(0)
	if _, err := it.Next(); err != nil {
		t.Fatal(err)
	}
	it2 := l.Epoch(1) // left open: Loader.Close must stop it
	_ = it2
	it.Close()
	it.Close()
	if _, err := it.Next(); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v, want ErrClosed", err)
	}
	l.Close()
	if _, err := it2.Next(); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Loader.Close: %v, want ErrClosed", err)
	}
	if _, err := l.Epoch(2).Next(); !errors.Is(err, ErrClosed) {
		t.Errorf("Epoch after Loader.Close: %v, want ErrClosed", err)
	}
	// Breaking out of All stops its workers too.
	l2, _ := New(ds, smallGray(t), Options{BatchSize: 32, Workers: 4})
	for range l2.All(0) {
		break
	}
	goroutinesSettle(t, before)
}

func TestNewRejectsMismatchedViews(t *testing.T) {
	ds := newSynth(10, 1, 28, 28)
	views := []augment.Transform{
		augment.RandomResizedCrop{Height: 28, Width: 28},
		augment.RandomResizedCrop{Height: 24, Width: 24},
	}
	if _, err := New(ds, views, Options{}); err == nil {
		t.Errorf("views of different sizes accepted")
	}
	if _, err := New(ds, nil, Options{}); err == nil {
		t.Errorf("no views accepted")
	}
}

func TestReleasedBatchesAreReused(t *testing.T) {
	ds := newSynth(256, 1, 28, 28)
	l, _ := New(ds, smallGray(t), Options{BatchSize: 64, Workers: 2, Prefetch: 2})
	defer l.Close()
	epoch(t, l, 0) // warm the pool
	allocs := testing.AllocsPerRun(3, func() {
		for b, err := range l.All(1) {
			if err != nil {
				t.Fatal(err)
			}
			l.Release(b)
		}
	})
	// Per epoch of 4 batches: goroutines, channels, the order and per-batch bookkeeping, but no
	// batch tensors (each would be 2·64·784 floats).
	if allocs > 40 {
		t.Errorf("%v allocations per epoch with released batches", allocs)
	}
	if testing.Verbose() {
		t.Logf("%v allocations per epoch of 4 batches", allocs)
	}
}

func TestDoubleReleaseDoesNotShareBuffers(t *testing.T) {
	ds := newSynth(64, 1, 28, 28)
	l, _ := New(ds, smallGray(t), Options{BatchSize: 16, Workers: 1, Prefetch: 1})
	defer l.Close()
	it := l.Epoch(0)
	defer it.Close()
	a, _ := it.Next()
	l.Release(a)
	l.Release(a)
	b, _ := it.Next()
	c, _ := it.Next()
	if &b.Data[0] == &c.Data[0] {
		t.Errorf("two live batches share memory after a double Release")
	}
}

func TestSCARFVectorsThroughTheLoader(t *testing.T) {
	ds := newSynth(40, 1, 1, 12) // 40 rows of 12 features
	sc, err := augment.NewSCARF(ds, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(ds, []augment.Transform{sc, sc}, Options{BatchSize: 8, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for b, err := range l.All(0) {
		if err != nil {
			t.Fatal(err)
		}
		if b.C != 1 || b.H != 1 || b.W != 12 {
			t.Fatalf("vector batch shape %dx%dx%d", b.C, b.H, b.W)
		}
		for i, k := range b.Indices {
			for v := 0; v < 2; v++ {
				changed := 0
				for j, x := range b.Views[v][i*12 : (i+1)*12] {
					if x != ds.imgs[k].Pix[j] {
						changed++
					}
				}
				if changed > 6 {
					t.Fatalf("row %d view %d: %d of 12 features changed, at most 6 may", k, v, changed)
				}
			}
		}
		l.Release(b)
	}
}
