package data

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string][]byte{
		"imgs/a/1.png":                     encode(t, "png", testPattern(4, 4)),
		"imgs/b/2.png":                     encode(t, "png", testPattern(4, 4)),
		"mnist/train-images-idx3-ubyte.gz": gz(idxBytes([]uint32{3, 2, 2}, seq(12))),
		"mnist/train-labels-idx1-ubyte.gz": gz(idxBytes([]uint32{3}, []byte{0, 1, 2})),
		"mnist/t10k-images-idx3-ubyte":     idxBytes([]uint32{1, 2, 2}, seq(4)),
		"cifar/data_batch_1.bin":           cifarRecord(CIFAR10, 1, 0),
		"cifar/data_batch_2.bin":           cifarRecord(CIFAR10, 2, 0),
		"cifar/test_batch.bin":             cifarRecord(CIFAR10, 3, 0),
		"c100/train.bin":                   cifarRecord(CIFAR100Fine, 77, 0),
		"v.csv":                            []byte("f1,f2,y\n1,2,cat\n3,4,dog\n"),
		"v.npy":                            npyFile("<f4", "(2, 3)", le([]float32{1, 2, 3, 4, 5, 6})),
		"photo.jpg":                        encode(t, "jpeg", testPattern(4, 4)),
		"notes.txt":                        []byte("x"),
	})
	p := func(s string) string { return filepath.Join(root, s) }
	tests := []struct {
		spec    string
		opt     OpenOptions
		n       int
		chw     [3]int
		label0  int
		wantErr string
	}{
		{spec: "fashion-mnist:embedded", n: 10000, chw: [3]int{1, 28, 28}, label0: 9},
		{spec: "fashion-mnist:test", n: 10000, chw: [3]int{1, 28, 28}, label0: 9},
		{spec: "fashion-mnist:embedded", opt: OpenOptions{FolderOptions: FolderOptions{DecodeOptions: DecodeOptions{Width: 14, Height: 14}}}, n: 10000, chw: [3]int{1, 14, 14}, label0: 9},
		{spec: "fashion-mnist:validation", wantErr: "unknown split"},
		{spec: "fashion-mnist", opt: OpenOptions{FashionMNISTDir: root}, wantErr: "apt-get install"},
		{spec: p("imgs"), n: 2, chw: [3]int{3, 4, 4}, label0: 0},
		{spec: p("mnist"), n: 3, chw: [3]int{1, 2, 2}, label0: 0},
		{spec: p("mnist") + ":test", n: 1, chw: [3]int{1, 2, 2}, label0: -1},
		{spec: p("mnist/train-images-idx3-ubyte.gz"), n: 3, chw: [3]int{1, 2, 2}, label0: 0},
		{spec: p("cifar"), n: 2, chw: [3]int{3, 32, 32}, label0: 1},
		{spec: p("cifar"), opt: OpenOptions{Split: "test", FolderOptions: FolderOptions{DecodeOptions: DecodeOptions{Gray: true}}}, n: 1, chw: [3]int{1, 32, 32}, label0: 3},
		{spec: p("cifar/data_batch_2.bin"), n: 1, chw: [3]int{3, 32, 32}, label0: 2},
		{spec: p("c100"), n: 1, chw: [3]int{3, 32, 32}, label0: 77},
		{spec: p("c100/train.bin"), opt: OpenOptions{CIFAR100Coarse: true}, n: 1, chw: [3]int{3, 32, 32}, label0: 77 % 20},
		{spec: p("v.csv"), opt: OpenOptions{LabelColumn: "y"}, n: 2, chw: [3]int{1, 1, 2}, label0: 0},
		{spec: p("v.npy"), n: 2, chw: [3]int{1, 1, 3}, label0: -1},
		{spec: p("photo.jpg"), wantErr: "single image"},
		{spec: p("notes.txt"), wantErr: "unknown kind"},
		{spec: p("missing"), wantErr: "no such file"},
	}
	for _, tc := range tests {
		t.Run(strings.TrimPrefix(tc.spec, root), func(t *testing.T) {
			ds, err := Open(tc.spec, tc.opt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := ds.Get(0)
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != tc.n || s.Label != tc.label0 || [3]int{s.Image.C, s.Image.H, s.Image.W} != tc.chw {
				t.Fatalf("len %d label %d size %dx%dx%d", ds.Len(), s.Label, s.Image.C, s.Image.H, s.Image.W)
			}
			if l, err := Labels(ds); err != nil || l[0] != tc.label0 {
				t.Fatalf("Labels %v %v", l[:1], err)
			}
		})
	}
}

func TestSubset(t *testing.T) {
	ds, err := EmbeddedFashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	sub := Subset(ds, []int{5, 0, 5})
	if sub.Len() != 3 || len(sub.Classes()) != 10 {
		t.Fatalf("len %d", sub.Len())
	}
	a, _ := sub.Get(1)
	b, _ := ds.Get(0)
	if a.ID != b.ID || a.Label != b.Label || maxDiff(a.Image.Pix, b.Image.Pix) != 0 {
		t.Fatal("Subset(…)[1] is not ds[0]")
	}
	if _, err := sub.Get(3); err == nil {
		t.Fatal("out of range: no error")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Subset with a bad index did not panic")
		}
	}()
	Subset(ds, []int{10000})
}
