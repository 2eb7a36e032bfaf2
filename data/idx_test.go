package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxBytes builds an IDX file of unsigned bytes with the given dimensions and body.
func idxBytes(dims []uint32, body []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(body)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestReadIDX(t *testing.T) {
	good := idxBytes([]uint32{2, 3, 4}, seq(24))
	tests := []struct {
		name    string
		in      []byte
		dims    []int
		wantErr string
	}{
		{"plain images file", good, []int{2, 3, 4}, ""},
		{"gzipped images file", gz(good), []int{2, 3, 4}, ""},
		{"labels file", idxBytes([]uint32{5}, seq(5)), []int{5}, ""},
		{"empty file", nil, nil, "header"},
		{"truncated body", good[:len(good)-1], nil, "truncated"},
		{"truncated gzip body", gz(good[:len(good)-3]), nil, "truncated"},
		{"truncated header", good[:9], nil, "header with 3 dimensions"},
		{"body longer than header says", append(append([]byte{}, good...), 1), nil, "holds more"},
		{"bad magic", append([]byte{1, 2}, good[2:]...), nil, "bad magic"},
		{"float element type", append([]byte{0, 0, 0x0d}, good[3:]...), nil, "unsupported element type"},
		{"zero dimensions", []byte{0, 0, 8, 0}, nil, "zero dimensions"},
		{"header claims huge size", idxBytes([]uint32{1 << 31, 1 << 20, 4}, seq(10)), nil, "limit"},
		{"corrupt gzip", []byte{0x1f, 0x8b, 1, 2, 3}, nil, "gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadIDX(bytes.NewReader(tc.in), "x.idx")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "x.idx") {
					t.Fatalf("err = %v, want one naming x.idx and containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Dims) != len(tc.dims) {
				t.Fatalf("dims %v, want %v", a.Dims, tc.dims)
			}
			for i := range a.Dims {
				if a.Dims[i] != tc.dims[i] {
					t.Fatalf("dims %v, want %v", a.Dims, tc.dims)
				}
			}
		})
	}
}

func TestOpenIDX(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "train-images-idx3-ubyte.gz")
	lbl := filepath.Join(dir, "train-labels-idx1-ubyte")
	pix := seq(2 * 3 * 4)
	os.WriteFile(img, gz(idxBytes([]uint32{2, 3, 4}, pix)), 0o644)
	os.WriteFile(lbl, idxBytes([]uint32{2}, []byte{1, 4}), 0o644)
	ds, err := OpenIDX(img, lbl)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 2 || len(ds.Classes()) != 5 {
		t.Fatalf("len %d classes %v", ds.Len(), ds.Classes())
	}
	s, err := ds.Get(1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Label != 4 || s.Image.C != 1 || s.Image.H != 3 || s.Image.W != 4 {
		t.Fatalf("sample %+v", s)
	}
	for j, v := range s.Image.Pix {
		if want := float32(pix[12+j]) / 255; v != want {
			t.Fatalf("pix[%d] = %v, want %v", j, v, want)
		}
	}
	if _, err := ds.Get(2); err == nil {
		t.Fatal("Get out of range: no error")
	}

	t.Run("label count mismatch names the file", func(t *testing.T) {
		os.WriteFile(lbl, idxBytes([]uint32{3}, []byte{1, 2, 3}), 0o644)
		_, err := OpenIDX(img, lbl)
		if err == nil || !strings.Contains(err.Error(), "2 images but 3 labels") || !strings.Contains(err.Error(), "train-images") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := OpenIDX(filepath.Join(dir, "nope"), ""); err == nil || !strings.Contains(err.Error(), "nope") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestIDXImagesHWC(t *testing.T) {
	// 1 image, 1x2 pixels, 3 channels stored HWC: r0 g0 b0 r1 g1 b1.
	a := &IDXArray{Dims: []int{1, 1, 2, 3}, Data: []byte{1, 2, 3, 4, 5, 6}}
	ds, err := IDXImages(a, nil, "hwc")
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{1, 4, 2, 5, 3, 6}
	if !bytes.Equal(ds.Raw(0), want) || ds.Label(0) != -1 || ds.Classes() != nil {
		t.Fatalf("raw %v, want %v", ds.Raw(0), want)
	}
}

func TestEmbeddedFashionMNIST(t *testing.T) {
	ds, err := EmbeddedFashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	checkFashionSplit(t, ds, 10000)
	// The embedded files must be the Debian ones when those are installed.
	if sys, err := OpenFashionMNIST("test", FashionMNISTSystemDir); err == nil {
		a, b := ds.(*U8Dataset), sys.(*U8Dataset)
		if !bytes.Equal(a.Pix, b.Pix) || len(a.Labels) != len(b.Labels) {
			t.Fatal("embedded t10k differs from the system copy")
		}
	}
}

func TestFashionMNISTSystem(t *testing.T) {
	if _, err := os.Stat(FashionMNISTSystemDir); err != nil {
		t.Skipf("%s absent (apt-get install dataset-fashion-mnist): skipping the real Fashion-MNIST test", FashionMNISTSystemDir)
	}
	for _, tc := range []struct {
		split string
		n     int
		file  string
	}{{"train", 60000, "train-images-idx3-ubyte.gz"}, {"test", 10000, "t10k-images-idx3-ubyte.gz"}} {
		t.Run(tc.split, func(t *testing.T) {
			if testing.Short() && tc.split == "train" {
				t.Skip("-short: skipping the 60,000-image train split")
			}
			ds, err := OpenFashionMNIST(tc.split, "")
			if err != nil {
				t.Fatal(err)
			}
			checkFashionSplit(t, ds, tc.n)
			// First image against the raw bytes, read independently of ReadIDX.
			f, err := os.Open(filepath.Join(FashionMNISTSystemDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			raw := make([]byte, 16+784)
			if _, err := io.ReadFull(zr, raw); err != nil {
				t.Fatal(err)
			}
			s, err := ds.Get(0)
			if err != nil {
				t.Fatal(err)
			}
			var rawSum, gotSum int
			for j, b := range raw[16:] {
				rawSum += int(b)
				gotSum += int(s.Image.Pix[j]*255 + 0.5)
			}
			if rawSum != gotSum || rawSum == 0 {
				t.Fatalf("first image checksum %d, raw bytes %d", gotSum, rawSum)
			}
			if s.Label != 9 { // both splits start with an ankle boot
				t.Fatalf("first label %d, want 9", s.Label)
			}
		})
	}
}

func checkFashionSplit(t *testing.T, ds Dataset, n int) {
	t.Helper()
	if ds.Len() != n {
		t.Fatalf("Len = %d, want %d", ds.Len(), n)
	}
	if len(ds.Classes()) != 10 || ds.Classes()[0] != "T-shirt/top" || ds.Classes()[9] != "Ankle boot" {
		t.Fatalf("classes %v", ds.Classes())
	}
	labels, err := Labels(ds)
	if err != nil {
		t.Fatal(err)
	}
	hist := make([]int, 10)
	for _, l := range labels {
		hist[l]++
	}
	for c, k := range hist {
		if k != n/10 { // Fashion-MNIST is exactly balanced in both splits
			t.Fatalf("class %d has %d images, want %d (histogram %v)", c, k, n/10, hist)
		}
	}
	s, err := ds.Get(n - 1)
	if err != nil || s.Image.C != 1 || s.Image.H != 28 || s.Image.W != 28 {
		t.Fatalf("last sample %v %v", s.Image.C, err)
	}
}

func TestFashionMNISTNotFound(t *testing.T) {
	_, err := OpenFashionMNIST("train", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte.gz") {
		t.Fatalf("err = %v", err)
	}
	if _, err := OpenFashionMNIST("validation", ""); err == nil {
		t.Fatal("unknown split: no error")
	}
}
