package data

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkImageFolderScan measures OpenImageFolder over 3,000 files: the default scan (headers,
// and each file's last bytes) against the SkipBad scan, which also decodes every file's pixels.
// Files are 28×28 gray PNGs (Fashion-MNIST-sized) or 256×256 RGB JPEGs (photo-sized).
func BenchmarkImageFolderScan(b *testing.B) {
	const n = 3000
	for _, kind := range []struct {
		name string
		make func(rng *rand.Rand) []byte
	}{
		{"png28gray", func(rng *rand.Rand) []byte {
			m := image.NewGray(image.Rect(0, 0, 28, 28))
			for i := range m.Pix {
				m.Pix[i] = uint8(rng.IntN(256))
			}
			var buf bytes.Buffer
			png.Encode(&buf, m)
			return buf.Bytes()
		}},
		{"jpeg256rgb", func(rng *rand.Rand) []byte {
			m := image.NewRGBA(image.Rect(0, 0, 256, 256))
			for y := 0; y < 256; y++ {
				for x := 0; x < 256; x++ {
					i := m.PixOffset(x, y)
					m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = uint8(x+rng.IntN(32)), uint8(y), uint8(x^y), 255
				}
			}
			var buf bytes.Buffer
			jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90})
			return buf.Bytes()
		}},
	} {
		root := b.TempDir()
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < n; i++ {
			ext := ".png"
			if kind.name[:4] == "jpeg" {
				ext = ".jpg"
			}
			if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("%05d%s", i, ext)), kind.make(rng), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		for _, skip := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/skipbad=%v", kind.name, skip), func(b *testing.B) {
				for b.Loop() {
					f, err := OpenImageFolder(root, FolderOptions{SkipBad: skip})
					if err != nil || f.Len() != n {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/file")
			})
		}
	}
}
