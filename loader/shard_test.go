package loader

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/augment"
)

// TestShardsConcatenateToTheUnshardedBatch: for 2 and 4 shards, with and without a final
// partial batch and with local views, every batch of two epochs, its shards' parts concatenated
// in shard order (view by view), is the unsharded loader's batch byte for byte — the same
// images, labels, IDs and augmented pixels (the augmentation seeds follow the sample, not the
// shard).
func TestShardsConcatenateToTheUnshardedBatch(t *testing.T) {
	ds := newSynth(70, 1, 28, 28)
	views := smallGray(t)
	local, err := augment.LocalViews("small-gray", 28, 1, augment.MultiCrop{Local: 2}.WithDefaults(28))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		shards int
		drop   bool
	}{{2, true}, {4, true}, {2, false}, {4, false}} {
		opt := Options{BatchSize: 16, Seed: 5, Shuffle: true, DropLast: c.drop, Workers: 2, Local: local}
		whole, err := New(ds, views, opt)
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]*Loader, c.shards)
		for s := range parts {
			o := opt
			o.Shard, o.Shards, o.Workers = s, c.shards, 1+s%2
			if parts[s], err = New(ds, views, o); err != nil {
				t.Fatal(err)
			}
			if parts[s].Len() != whole.Len() {
				t.Fatalf("%d shards: shard %d has %d batches an epoch, the unsharded loader %d", c.shards, s, parts[s].Len(), whole.Len())
			}
		}
		for e := range 2 {
			want := collect(t, whole, e)
			got := make([][]*Batch, c.shards)
			for s, p := range parts {
				got[s] = collect(t, p, e)
			}
			for k, w := range want {
				var n int
				for s := range parts {
					b := got[s][k]
					if b.Offset != n || b.Step != k || b.Epoch != e {
						t.Fatalf("%d shards, epoch %d, batch %d: shard %d has offset %d, step %d, epoch %d; want %d, %d, %d", c.shards, e, k, s, b.Offset, b.Step, b.Epoch, n, k, e)
					}
					n += b.N
				}
				if n != w.N {
					t.Fatalf("%d shards, epoch %d, batch %d: the parts hold %d images, the batch %d", c.shards, e, k, n, w.N)
				}
				cat := func(f func(b *Batch) []byte) []byte {
					var out []byte
					for s := range parts {
						out = append(out, f(got[s][k])...)
					}
					return out
				}
				for v := range w.V() {
					if !bytes.Equal(cat(func(b *Batch) []byte { return bytesOf(b.Views[v]) }), bytesOf(w.Views[v])) {
						t.Fatalf("%d shards, epoch %d, batch %d: view %d of the parts differs from the unsharded batch's", c.shards, e, k, v)
					}
				}
				for j := range w.Local {
					if !bytes.Equal(cat(func(b *Batch) []byte { return bytesOf(b.Local[j]) }), bytesOf(w.Local[j])) {
						t.Fatalf("%d shards, epoch %d, batch %d: local view %d of the parts differs", c.shards, e, k, j)
					}
				}
				var idx, labels []int
				var ids []string
				for s := range parts {
					idx = append(idx, got[s][k].Indices...)
					labels = append(labels, got[s][k].Labels...)
					ids = append(ids, got[s][k].IDs...)
				}
				if !slices.Equal(idx, w.Indices) || !slices.Equal(labels, w.Labels) || !slices.Equal(ids, w.IDs) {
					t.Fatalf("%d shards, epoch %d, batch %d: indices %v, labels or IDs of the parts differ from %v", c.shards, e, k, idx, w.Indices)
				}
			}
		}
		whole.Close()
		for _, p := range parts {
			p.Close()
		}
	}
}

// collect returns the batches of epoch e, not released (each its own memory).
func collect(t *testing.T, l *Loader, e int) []*Batch {
	t.Helper()
	var out []*Batch
	for b, err := range l.All(e) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestShardOptionsAreChecked(t *testing.T) {
	ds := newSynth(10, 1, 28, 28)
	for _, c := range []struct {
		opt  Options
		want string
	}{
		{Options{BatchSize: 9, Shards: 2}, "does not split into 2 equal shards"},
		{Options{BatchSize: 8, Shards: 2, Shard: 2}, "shard 2 outside [0, 2)"},
		{Options{BatchSize: 8, Shards: 2, Shard: -1}, "shard -1 outside"},
		{Options{BatchSize: 8, Shards: -2}, "negative option"},
	} {
		if _, err := New(ds, smallGray(t), c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.opt, err, c.want)
		}
	}
}
