// Package data reads datasets (image folders, IDX, CIFAR, CSV and .npy vectors) into one small
// interface that the loader, the trainer and the evaluator share.
//
// Images are float32, channels first (CHW), with values in [0, 1]. A vector of tabular data is an
// Image with C = 1, H = 1 and W = the number of features.
package data

import (
	"fmt"
	"image"
	"image/color"
)

// Image is a float32 CHW image with values in [0, 1] (or arbitrary floats for vector data).
type Image struct {
	C, H, W int
	Pix     []float32 // len C*H*W, index c*H*W + y*W + x
}

// NewImage returns a zero image of the given size.
func NewImage(c, h, w int) Image {
	if c <= 0 || h <= 0 || w <= 0 {
		panic(fmt.Sprintf("data.NewImage: invalid size %dx%dx%d", c, h, w))
	}
	return Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
}

// At returns the value of channel c at (x, y).
func (m Image) At(c, y, x int) float32 { return m.Pix[(c*m.H+y)*m.W+x] }

// Set sets the value of channel c at (x, y).
func (m Image) Set(c, y, x int, v float32) { m.Pix[(c*m.H+y)*m.W+x] = v }

// Clone returns a deep copy.
func (m Image) Clone() Image {
	p := make([]float32, len(m.Pix))
	copy(p, m.Pix)
	return Image{C: m.C, H: m.H, W: m.W, Pix: p}
}

// FromImage converts a decoded image to a CHW float image in [0, 1]: one channel (ITU-R 601 luma)
// when gray is true, three (RGB) otherwise. Alpha is ignored.
func FromImage(img image.Image, gray bool) Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	c := 3
	if gray {
		c = 1
	}
	out := NewImage(c, h, w)
	plane := h * w
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if gray {
				g := color.Gray16Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray16)
				out.Pix[i] = float32(g.Y) / 65535
				continue
			}
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			out.Pix[i] = float32(r) / 65535
			out.Pix[plane+i] = float32(g) / 65535
			out.Pix[2*plane+i] = float32(bl) / 65535
		}
	}
	return out
}

// Sample is one item of a dataset.
type Sample struct {
	Image Image
	Label int    // class index, or -1 when the dataset is unlabelled
	ID    string // a path or an index, unique within the dataset
}

// Dataset is a finite, indexable collection of samples. Get must be safe for concurrent use.
type Dataset interface {
	Len() int
	Get(i int) (Sample, error)
	// Classes names the labels (index = label); nil for an unlabelled dataset.
	Classes() []string
}
