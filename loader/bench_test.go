package loader

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/data"
)

// benchLoader runs epochs back to back, releasing every batch, and reports images/s (each image
// yields len(views) views) and the process's CPU time per image.
func benchLoader(b *testing.B, ds data.Dataset, views []augment.Transform, opt Options) {
	l, err := New(ds, views, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	cpu0 := cpuTime()
	images := 0
	e := 0
	it := l.Epoch(e)
	for b.Loop() {
		bt, err := it.Next()
		if err != nil {
			it.Close()
			e++
			it = l.Epoch(e)
			bt, err = it.Next()
			if err != nil {
				b.Fatal(err)
			}
		}
		images += bt.N
		l.Release(bt)
	}
	it.Close()
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
	// CPU time per image depends much less on what else the machine runs than images/s does.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(cpu.Seconds()*1e3/float64(images), "cpu-ms/image")
	}
}

// BenchmarkLoaderSmallGray measures the reference model's input pipeline: Fashion-MNIST's
// training split (synthetic 28×28 gray images when it is not installed), the small-gray preset,
// 256 images × 2 views per batch, GOMAXPROCS workers.
func BenchmarkLoaderSmallGray(b *testing.B) {
	ds, err := data.OpenFashionMNIST("train", "")
	if err != nil {
		b.Logf("Fashion-MNIST unavailable (%v): synthetic images", err)
		ds = newSynth(10000, 1, 28, 28)
	}
	benchLoader(b, ds, smallGray(b), Options{BatchSize: 256, Shuffle: true, Seed: 1})
}

// jpegDir is a dataset of JPEG files decoded on every Get, as an image-folder reader would.
type jpegDir struct {
	paths []string
	slow  bool // convert with data.FromImage instead of reading the YCbCr planes directly
}

func (d *jpegDir) Len() int          { return len(d.paths) }
func (d *jpegDir) Classes() []string { return nil }
func (d *jpegDir) Get(i int) (data.Sample, error) {
	f, err := os.Open(d.paths[i])
	if err != nil {
		return data.Sample{}, err
	}
	defer f.Close()
	m, err := jpeg.Decode(f)
	if err != nil {
		return data.Sample{}, fmt.Errorf("decoding %s: %w", d.paths[i], err)
	}
	if y, ok := m.(*image.YCbCr); ok && !d.slow {
		return data.Sample{Image: fromYCbCr(y), Label: -1, ID: d.paths[i]}, nil
	}
	return data.Sample{Image: data.FromImage(m, false), Label: -1, ID: d.paths[i]}, nil
}

// fromYCbCr converts a decoded JPEG to CHW RGB floats without per-pixel interface calls.
func fromYCbCr(m *image.YCbCr) data.Image {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	out := data.NewImage(3, h, w)
	plane := w * h
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
			ci := m.COffset(b.Min.X+x, b.Min.Y+y)
			r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			i := y*w + x
			out.Pix[i] = float32(r) / 255
			out.Pix[plane+i] = float32(g) / 255
			out.Pix[2*plane+i] = float32(bl) / 255
		}
	}
	return out
}

// jpegFiles returns the JPEGs of $CONTRASTIVE_JPEG_DIR, or writes 200 synthetic ones of about
// 256×256 pixels to a temporary directory.
func jpegFiles(b *testing.B) []string {
	dir := os.Getenv("CONTRASTIVE_JPEG_DIR")
	if dir == "" {
		dir = b.TempDir()
		r := rand.New(rand.NewPCG(7, 7))
		for i := range 200 {
			w, h := 240+r.IntN(40), 240+r.IntN(40)
			img := image.NewRGBA(image.Rect(0, 0, w, h))
			fx, fy, ph := 0.02+0.1*r.Float64(), 0.02+0.1*r.Float64(), 6*r.Float64()
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					v := func(k float64) uint8 {
						return uint8(127.5 + 127*math.Sin(fx*float64(x)*k+fy*float64(y)+ph*k))
					}
					img.SetRGBA(x, y, color.RGBA{v(1), v(1.3), v(0.7), 255})
				}
			}
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%03d.jpg", i)))
			if err != nil {
				b.Fatal(err)
			}
			if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	sort.Strings(paths)
	if len(paths) == 0 {
		b.Fatalf("no JPEGs in %s", dir)
	}
	return paths
}

// BenchmarkLoaderSimCLRJPEG measures decoding 224×224 colour JPEGs plus the simclr preset (two
// views), to compare with loader/testdata/torchvision_ref.py on the same files
// (CONTRASTIVE_JPEG_DIR), with 1 and 2 workers. decode=FromImage converts with data.FromImage,
// decode=ycbcr reads the decoder's planes directly.
func BenchmarkLoaderSimCLRJPEG(b *testing.B) {
	paths := jpegFiles(b)
	views, err := augment.Preset("simclr", 224, 3)
	if err != nil {
		b.Fatal(err)
	}
	for _, slow := range []bool{false, true} {
		for _, w := range []int{1, 2} {
			name := fmt.Sprintf("decode=ycbcr/workers=%d", w)
			if slow {
				name = fmt.Sprintf("decode=FromImage/workers=%d", w)
			}
			b.Run(name, func(b *testing.B) {
				benchLoader(b, &jpegDir{paths: paths, slow: slow}, views,
					Options{BatchSize: 32, Workers: w, Prefetch: 2, Shuffle: true, Seed: 1})
			})
		}
	}
}
