package loader

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/data"
)

// TestLocalViewsFollowTheSampleSeed checks multi-crop batches: local view j of image i is the
// local pipeline applied with augment.SampleRNG(seed, epoch, index, 2+j), at the local size,
// and the global views are unchanged by the presence of local ones.
func TestLocalViewsFollowTheSampleSeed(t *testing.T) {
	ds := newSynth(12, 1, 28, 28)
	views := smallGray(t)
	local, err := augment.LocalViews("small-gray", 28, 1, augment.MultiCrop{Local: 3})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := New(ds, views, Options{BatchSize: 6, Seed: 9, Shuffle: true, Workers: 3})
	defer plain.Close()
	l, err := New(ds, views, Options{BatchSize: 6, Seed: 9, Shuffle: true, Workers: 3, Local: local})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n, h, w := l.LocalShape(); n != 3 || h != 12 || w != 12 {
		t.Fatalf("LocalShape %d, %d, %d; want 3, 12, 12", n, h, w)
	}
	if n, _, _ := plain.LocalShape(); n != 0 {
		t.Fatalf("a loader without local views has %d", n)
	}
	it, pit := l.Epoch(2), plain.Epoch(2)
	defer it.Close()
	defer pit.Close()
	for range 2 {
		b, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		pb, err := pit.Next()
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Local) != 3 || b.LH != 12 || b.LW != 12 || len(b.LocalData) != 3*b.N*144 || &b.Local[1][0] != &b.LocalData[b.N*144] {
			t.Fatalf("local views: %d of %dx%d, %d values", len(b.Local), b.LH, b.LW, len(b.LocalData))
		}
		if !bytes.Equal(bytesOf(b.Data), bytesOf(pb.Data)) {
			t.Fatal("the global views change when local views are added")
		}
		for i, k := range b.Indices {
			for j := range local {
				want := local[j].Apply(ds.imgs[k], augment.SampleRNG(9, 2, k, 2+j))
				if !bytes.Equal(bytesOf(b.Local[j][i*144:(i+1)*144]), bytesOf(want.Pix)) {
					t.Fatalf("image %d local view %d differs from augment.SampleRNG(9, 2, %d, %d)", k, j, k, 2+j)
				}
			}
			if bytes.Equal(bytesOf(b.Local[0][i*144:(i+1)*144]), bytesOf(b.Local[1][i*144:(i+1)*144])) {
				t.Errorf("image %d: local views 0 and 1 are identical", k)
			}
		}
		l.Release(b)
		plain.Release(pb)
	}
}

func TestNewRejectsMismatchedLocalViews(t *testing.T) {
	ds := newSynth(10, 1, 28, 28)
	for _, local := range [][]augment.Transform{
		{augment.RandomResizedCrop{Height: 12, Width: 12}, augment.RandomResizedCrop{Height: 10, Width: 10}},
		{augment.Compose(augment.RandomResizedCrop{Height: 12, Width: 12}, augment.Func(func(img data.Image, _ *rand.Rand) data.Image { return data.NewImage(3, 12, 12) }))},
	} {
		if _, err := New(ds, smallGray(t), Options{Local: local}); err == nil {
			t.Errorf("local views %v accepted", local)
		}
	}
}
