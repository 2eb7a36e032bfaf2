package data

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func cifarRecord(format CIFARFormat, label byte, seed byte) []byte {
	var r []byte
	switch format {
	case CIFAR10:
		r = []byte{label}
	case CIFAR100Fine:
		r = []byte{label % 20, label}
	case CIFAR100Coarse:
		r = []byte{label, 0}
	}
	for i := 0; i < cifarPixels; i++ {
		r = append(r, byte(i)+seed)
	}
	return r
}

func TestReadCIFAR(t *testing.T) {
	two10 := append(cifarRecord(CIFAR10, 3, 0), cifarRecord(CIFAR10, 9, 5)...)
	two100 := append(cifarRecord(CIFAR100Fine, 42, 0), cifarRecord(CIFAR100Fine, 99, 1)...)
	tests := []struct {
		name    string
		format  CIFARFormat
		in      []byte
		labels  []int
		wantErr string
	}{
		{"CIFAR-10, two records", CIFAR10, two10, []int{3, 9}, ""},
		{"CIFAR-100 fine labels", CIFAR100Fine, two100, []int{42, 99}, ""},
		{"CIFAR-100 coarse labels", CIFAR100Coarse, two100, []int{2, 19}, ""},
		{"empty file", CIFAR10, nil, nil, "empty file"},
		{"truncated record", CIFAR10, two10[:len(two10)-10], nil, "truncated: 1 whole 3073-byte records"},
		{"CIFAR-100 read as CIFAR-10", CIFAR10, two100, nil, "batch b.bin"},
		{"label out of range", CIFAR10, cifarRecord(CIFAR10, 10, 0), nil, "label 10"},
		{"fine label out of range", CIFAR100Fine, cifarRecord(CIFAR100Fine, 100, 0), nil, "label 100"},
		{"unknown format", CIFARFormat(7), two10, nil, "unknown CIFAR format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := ReadCIFAR(bytes.NewReader(tc.in), "b.bin", tc.format)
			if tc.labels == nil {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "b.bin") {
					t.Fatalf("err = %v, want one naming b.bin containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != len(tc.labels) {
				t.Fatalf("Len %d", ds.Len())
			}
			for i, l := range tc.labels {
				s, err := ds.Get(i)
				if err != nil || s.Label != l || s.Image.C != 3 || s.Image.H != 32 {
					t.Fatalf("sample %d: label %d err %v", i, s.Label, err)
				}
			}
			s, _ := ds.Get(1)
			// Planar layout: value at (c, y, x) is byte (c*1024 + y*32 + x) + seed.
			off := 2*1024 + 32 + 3
			seed := int(s.Image.Pix[0]*255 + 0.5)
			if got, want := s.Image.At(2, 1, 3), float32((off+seed)%256)/255; got != want {
				t.Fatalf("pixel (2,1,3) = %v, want %v", got, want)
			}
		})
	}
}

func TestOpenCIFAR(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := 1; i <= 2; i++ {
		p := filepath.Join(dir, "data_batch_"+string(rune('0'+i))+".bin")
		os.WriteFile(p, cifarRecord(CIFAR10, byte(i), 0), 0o644)
		paths = append(paths, p)
	}
	ds, err := OpenCIFAR(CIFAR10, paths...)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 2 || ds.Label(1) != 2 || ds.Classes()[1] != "automobile" {
		t.Fatalf("len %d label %d", ds.Len(), ds.Label(1))
	}
	fine := filepath.Join(dir, "train.bin")
	os.WriteFile(fine, cifarRecord(CIFAR100Fine, 2, 0), 0o644)
	names := strings.Repeat("x\n", 98) + "apple\nzebra\n"
	os.WriteFile(filepath.Join(dir, "fine_label_names.txt"), []byte(names), 0o644)
	ds, err = OpenCIFAR(CIFAR100Fine, fine)
	if err != nil || ds.Classes()[99] != "zebra" {
		t.Fatalf("classes %v, err %v", ds.Classes(), err)
	}
	if _, err := OpenCIFAR(CIFAR10, filepath.Join(dir, "missing.bin")); err == nil {
		t.Fatal("missing file: no error")
	}
}
