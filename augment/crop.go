package augment

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/data"
)

// RandomResizedCrop crops a random region and resizes it to Height×Width with bilinear
// interpolation: the "random cropping and resizing" of SimCLR (Chen et al. 2020, appendix A),
// originally Inception's crop (Szegedy et al., "Going Deeper with Convolutions", CVPR 2015).
//
// The region is drawn exactly as torchvision.transforms.RandomResizedCrop draws it: up to 10
// attempts of an area fraction uniform in Scale and an aspect ratio log-uniform in Ratio, keeping
// the first that fits; otherwise a centre crop of the whole image clamped to Ratio. Interpolation
// is bilinear with half-pixel centres (align_corners=False) and no antialiasing, as torchvision's
// tensor path with antialias=False.
//
// The zero values of Scale and Ratio mean torchvision's defaults, (0.08, 1) and (3/4, 4/3).
//
//	rrc := augment.RandomResizedCrop{Height: 28, Width: 28, Scale: [2]float64{0.2, 1}}
//	out := rrc.Apply(img, rng)
type RandomResizedCrop struct {
	Height, Width int        // output size
	Scale         [2]float64 // range of the crop's area as a fraction of the image's area
	Ratio         [2]float64 // range of the crop's aspect ratio, width / height
}

func (t RandomResizedCrop) scaleRatio() ([2]float64, [2]float64) {
	s, r := t.Scale, t.Ratio
	if s == [2]float64{} {
		s = [2]float64{0.08, 1}
	}
	if r == [2]float64{} {
		r = [2]float64{3.0 / 4, 4.0 / 3}
	}
	return s, r
}

// Params draws the crop region (top, left, height, width) for an image of h×w pixels.
func (t RandomResizedCrop) Params(h, w int, rng *rand.Rand) (top, left, ch, cw int) {
	scale, ratio := t.scaleRatio()
	area := float64(h * w)
	logR0, logR1 := math.Log(ratio[0]), math.Log(ratio[1])
	for range 10 {
		target := area * uniform(rng, scale[0], scale[1])
		aspect := math.Exp(uniform(rng, logR0, logR1))
		cw := int(math.RoundToEven(math.Sqrt(target * aspect)))
		ch := int(math.RoundToEven(math.Sqrt(target / aspect)))
		if cw > 0 && cw <= w && ch > 0 && ch <= h {
			top := rng.IntN(h - ch + 1)
			left := rng.IntN(w - cw + 1)
			return top, left, ch, cw
		}
	}
	// Fallback: centre crop.
	in := float64(w) / float64(h)
	ch, cw = h, w
	if in < min(ratio[0], ratio[1]) {
		ch = int(math.RoundToEven(float64(w) / min(ratio[0], ratio[1])))
	} else if in > max(ratio[0], ratio[1]) {
		cw = int(math.RoundToEven(float64(h) * max(ratio[0], ratio[1])))
	}
	return (h - ch) / 2, (w - cw) / 2, ch, cw
}

// OutputShape implements Into.
func (t RandomResizedCrop) OutputShape(c, h, w int) (int, int, int) { return c, t.Height, t.Width }

// Apply implements Transform.
func (t RandomResizedCrop) Apply(img data.Image, rng *rand.Rand) data.Image {
	return applyNew(t, img, rng)
}

// ApplyInto implements Into.
func (t RandomResizedCrop) ApplyInto(dst []float32, src data.Image, rng *rand.Rand) data.Image {
	top, left, ch, cw := t.Params(src.H, src.W, rng)
	return resizeBilinear(dst, src, top, left, ch, cw, t.Height, t.Width)
}

// Resize resizes the whole image to Height×Width with bilinear interpolation (torchvision's
// Resize with a two-number size, antialias=False). An image already of that size is copied.
type Resize struct {
	Height, Width int
}

// OutputShape implements Into.
func (t Resize) OutputShape(c, h, w int) (int, int, int) { return c, t.Height, t.Width }

// Apply implements Transform.
func (t Resize) Apply(img data.Image, rng *rand.Rand) data.Image { return applyNew(t, img, rng) }

// ApplyInto implements Into.
func (t Resize) ApplyInto(dst []float32, src data.Image, _ *rand.Rand) data.Image {
	if src.H == t.Height && src.W == t.Width {
		n := copy(dst, src.Pix)
		return data.Image{C: src.C, H: src.H, W: src.W, Pix: dst[:n]}
	}
	return resizeBilinear(dst, src, 0, 0, src.H, src.W, t.Height, t.Width)
}

// coord is a precomputed bilinear sampling position: the two source indices and the weight of
// the second.
type coord struct {
	i0, i1 int32
	w      float32
}

// bilinearCoords fills cs[o] for o < len(cs): the source positions of output pixel o when n source
// pixels starting at off are stretched over len(cs) outputs (half-pixel centres).
func bilinearCoords(cs []coord, off, n int) {
	scale := float64(n) / float64(len(cs))
	for o := range cs {
		s := (float64(o)+0.5)*scale - 0.5
		if s < 0 {
			s = 0
		}
		i0 := int(s)
		if i0 > n-1 {
			i0 = n - 1
		}
		i1 := i0 + 1
		if i1 > n-1 {
			i1 = n - 1
		}
		cs[o] = coord{int32(off + i0), int32(off + i1), float32(s - float64(i0))}
	}
}

const maxStackCoords = 512

// resizeBilinear resamples the crop (top, left, ch, cw) of src to oh×ow into dst.
func resizeBilinear(dst []float32, src data.Image, top, left, ch, cw, oh, ow int) data.Image {
	if oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("augment: invalid output size %dx%d", oh, ow))
	}
	n := src.C * oh * ow
	if len(dst) < n {
		panic(fmt.Sprintf("augment: destination holds %d values, need %d", len(dst), n))
	}
	dst = dst[:n]
	out := data.Image{C: src.C, H: oh, W: ow, Pix: dst}
	var xa, ya [maxStackCoords]coord
	var xs, ys []coord
	if ow <= maxStackCoords {
		xs = xa[:ow]
	} else {
		xs = make([]coord, ow)
	}
	if oh <= maxStackCoords {
		ys = ya[:oh]
	} else {
		ys = make([]coord, oh)
	}
	bilinearCoords(xs, left, cw)
	bilinearCoords(ys, top, ch)
	plane := src.H * src.W
	for c := 0; c < src.C; c++ {
		sp := src.Pix[c*plane : (c+1)*plane]
		dp := dst[c*oh*ow : (c+1)*oh*ow]
		for oy, yc := range ys {
			r0 := sp[int(yc.i0)*src.W : int(yc.i0+1)*src.W]
			r1 := sp[int(yc.i1)*src.W : int(yc.i1+1)*src.W]
			wy := yc.w
			drow := dp[oy*ow : (oy+1)*ow]
			if wy == 0 {
				for ox, xc := range xs {
					a, b := r0[xc.i0], r0[xc.i1]
					drow[ox] = a + (b-a)*xc.w
				}
				continue
			}
			for ox, xc := range xs {
				a, b := r0[xc.i0], r0[xc.i1]
				top := a + (b-a)*xc.w
				a, b = r1[xc.i0], r1[xc.i1]
				bot := a + (b-a)*xc.w
				drow[ox] = top + (bot-top)*wy
			}
		}
	}
	return out
}
