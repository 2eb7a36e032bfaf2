package data

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fuzz targets: run with e.g. `go test ./data -run '^$' -fuzz FuzzReadIDX -fuzztime 20s`.
// Seed corpora are the f.Add calls below plus files in testdata/fuzz/<target>/. Each target
// checks that no input panics and that accepted inputs satisfy the reader's invariants.

func FuzzReadIDX(f *testing.F) {
	good := idxBytes([]uint32{2, 3, 4}, seq(24))
	f.Add(good)
	f.Add(gz(good))
	f.Add(idxBytes([]uint32{3}, []byte{1, 2, 3}))
	f.Add(idxBytes([]uint32{1, 2, 2, 3}, seq(12)))
	f.Add(good[:10])
	f.Add(idxBytes([]uint32{0xffffffff, 0xffffffff, 0xffffffff}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ReadIDX(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.Dims {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("dims %v but %d bytes", a.Dims, len(a.Data))
		}
		ds, err := IDXImages(a, nil, "fuzz")
		if err != nil || ds.Len() == 0 {
			return
		}
		s, err := ds.Get(ds.Len() - 1)
		if err != nil || len(s.Image.Pix) != s.Image.C*s.Image.H*s.Image.W {
			t.Fatalf("Get: %v", err)
		}
	})
}

func FuzzReadCIFAR(f *testing.F) {
	f.Add(cifarRecord(CIFAR10, 3, 0), false)
	f.Add(cifarRecord(CIFAR100Fine, 42, 9), true)
	f.Add(cifarRecord(CIFAR10, 200, 0), false)
	f.Add([]byte{1, 2, 3}, true)
	f.Fuzz(func(t *testing.T, b []byte, hundred bool) {
		format := CIFAR10
		if hundred {
			format = CIFAR100Fine
		}
		ds, err := ReadCIFAR(bytes.NewReader(b), "fuzz", format)
		if err != nil {
			return
		}
		if ds.Len()*cifarPixels != len(ds.Pix) || len(ds.Labels) != ds.Len() {
			t.Fatalf("%d images, %d bytes, %d labels", ds.Len(), len(ds.Pix), len(ds.Labels))
		}
		for i := 0; i < ds.Len(); i++ {
			if l := ds.Label(i); l < 0 || l >= len(ds.Classes()) {
				t.Fatalf("label %d of %d classes", l, len(ds.Classes()))
			}
		}
	})
}

// imageSeeds are small valid files of each format plus broken variants.
func imageSeeds(f *testing.F) [][]byte {
	pat := testPattern(5, 4)
	seeds := [][]byte{
		encode(f, "png", pat), encode(f, "jpeg", pat), encode(f, "gif", pat), encode(f, "bmp", pat),
		pngWithSize(f, 70000, 70000), nil, []byte("GIF89a"), []byte("RIFF\x00\x00\x00\x00WEBPVP8L"),
	}
	if w, err := os.ReadFile("testdata/gopher-doc.1bpp.lossless.webp"); err == nil {
		seeds = append(seeds, w)
	}
	return seeds
}

// fuzzDecodeOptions derives decode options from one byte, keeping images small.
func fuzzDecodeOptions(o byte) DecodeOptions {
	opt := DecodeOptions{Gray: o&1 != 0, MaxPixels: 1 << 16, IgnoreEXIF: o&2 != 0}
	if o&4 != 0 {
		opt.Width, opt.Height = 3, 2
		if o&8 != 0 {
			opt.Interp = Area
		}
	}
	return opt
}

func FuzzDecodeImage(f *testing.F) {
	for _, s := range imageSeeds(f) {
		f.Add(s, byte(0))
		f.Add(s, byte(5))
	}
	f.Fuzz(func(t *testing.T, b []byte, o byte) {
		opt := fuzzDecodeOptions(o)
		m, err := DecodeImage(bytes.NewReader(b), opt)
		if err != nil {
			return
		}
		if m.C != 1 && m.C != 3 || len(m.Pix) != m.C*m.H*m.W || m.H*m.W > opt.MaxPixels {
			t.Fatalf("image %dx%dx%d with %d values", m.C, m.H, m.W, len(m.Pix))
		}
		if opt.Width > 0 && (m.W != 3 || m.H != 2) {
			t.Fatalf("resized to %dx%d", m.W, m.H)
		}
	})
}

func FuzzImageFolder(f *testing.F) {
	for _, s := range imageSeeds(f) {
		f.Add(s, byte(0))
		f.Add(s, byte(0x34))
	}
	f.Fuzz(func(t *testing.T, b []byte, o byte) {
		root := t.TempDir()
		ext := ImageExtensions[int(o>>4)%len(ImageExtensions)]
		good := encode(t, "png", testPattern(5, 4))
		if err := os.WriteFile(filepath.Join(root, "a"+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "b.png"), good, 0o644); err != nil {
			t.Fatal(err)
		}
		opt := FolderOptions{DecodeOptions: fuzzDecodeOptions(o), SkipBad: o&16 != 0, Preload: o&32 != 0}
		ds, err := OpenImageFolder(root, opt)
		if err != nil {
			if !strings.Contains(err.Error(), root) {
				t.Fatalf("error does not name the folder: %v", err)
			}
			return
		}
		c, h, w := ds.Size()
		for i := 0; i < ds.Len(); i++ {
			s, err := ds.Get(i)
			if err != nil {
				if !strings.Contains(err.Error(), ds.Paths()[i]) {
					t.Fatalf("error does not name the file: %v", err)
				}
				continue
			}
			if s.Image.C != c || s.Image.H != h || s.Image.W != w {
				t.Fatalf("image %d is %dx%dx%d, folder says %dx%dx%d", i, s.Image.C, s.Image.H, s.Image.W, c, h, w)
			}
		}
	})
}

func FuzzReadNPY(f *testing.F) {
	f.Add(npyFile("<f4", "(2, 2)", le([]float32{1, 2, 3, 4})))
	f.Add(npyFile("|u1", "(1, 1, 2)", []byte{0, 255}))
	f.Add(npyFile("<i8", "(3,)", le([]int64{1, 2, 3})))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ReadNPY(bytes.NewReader(b), "fuzz")
		// Read as a file of known size (ReadNPYFile's path, which decodes block by block when
		// the size matches the header): the same answer.
		af, errf := readNPY(bytes.NewReader(b), "fuzz", int64(len(b)))
		if (err == nil) != (errf == nil) {
			t.Fatalf("as a stream: %v; as a file of %d bytes: %v", err, len(b), errf)
		}
		if err != nil {
			return
		}
		if len(af.Data) != len(a.Data) || fmt.Sprint(af.Shape) != fmt.Sprint(a.Shape) {
			t.Fatalf("as a stream: shape %v; as a file: %v", a.Shape, af.Shape)
		}
		for i := range a.Data {
			if math.Float32bits(a.Data[i]) != math.Float32bits(af.Data[i]) {
				t.Fatalf("value %d: %v as a stream, %v as a file", i, a.Data[i], af.Data[i])
			}
		}
		n := 1
		for _, d := range a.Shape {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("shape %v but %d values", a.Shape, len(a.Data))
		}
		if ds, err := NPYDataset(a, nil, "fuzz"); err == nil && ds.Len() > 0 {
			if _, err := ds.Get(0); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add("a,b,label\n1,2,x\n3,4,y\n", "label")
	f.Add("1,2\n3,4\n", "")
	f.Add("\"a\nb\",c\n1,2\n", "c")
	f.Fuzz(func(t *testing.T, in, label string) {
		ds, err := ReadCSV(strings.NewReader(in), "fuzz", CSVOptions{LabelColumn: label})
		if err != nil {
			return
		}
		if len(ds.Pix) != ds.N*ds.W || ds.W == 0 {
			t.Fatalf("%d rows of %d, %d values", ds.N, ds.W, len(ds.Pix))
		}
		for i := 0; i < ds.Len(); i++ {
			if l := ds.Label(i); label != "" && (l < 0 || l >= len(ds.Classes())) {
				t.Fatalf("label %d of %d classes", l, len(ds.Classes()))
			}
		}
	})
}
