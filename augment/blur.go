package augment

import (
	"math"
	"math/rand/v2"
	"sync"

	"github.com/contrastive-go/contrastive/data"
)

// GaussianBlur blurs the image with probability P with a Gaussian of standard deviation drawn
// uniformly from Sigma, as SimCLR (Chen et al. 2020, appendix A: σ ∈ [0.1, 2.0], kernel 10% of
// the image side) and torchvision's GaussianBlur define it. The kernel is separable and the image
// is padded by reflection, so a constant image stays constant.
//
// KernelSize is the (odd) kernel width; zero means 10% of the image's smaller side, rounded and
// made odd, at least 3. The zero value of Sigma means [0.1, 2.0].
type GaussianBlur struct {
	KernelSize int
	Sigma      [2]float64
	P          float64
}

// KernelSizeFor returns the default kernel width for an image side: 10% of it, odd, at least 3.
func KernelSizeFor(side int) int {
	k := int(math.Round(0.1 * float64(side)))
	if k%2 == 0 {
		k++
	}
	return max(k, 3)
}

// Apply implements Transform.
func (t GaussianBlur) Apply(img data.Image, rng *rand.Rand) data.Image {
	return applyCloned(t, img, rng)
}

// ApplyInPlace implements InPlace.
func (t GaussianBlur) ApplyInPlace(img data.Image, rng *rand.Rand) {
	if rng.Float64() >= t.P {
		return
	}
	sig := t.Sigma
	if sig == [2]float64{} {
		sig = [2]float64{0.1, 2.0}
	}
	sigma := uniform(rng, sig[0], sig[1])
	k := t.KernelSize
	if k <= 0 {
		k = KernelSizeFor(min(img.H, img.W))
	}
	BlurInPlace(img, k, sigma)
}

// gaussianKernel fills w (odd length) with torchvision's normalised Gaussian weights.
func gaussianKernel(w []float32, sigma float64) {
	r := len(w) / 2
	var sum float64
	for i := range w {
		x := float64(i-r) / sigma
		v := math.Exp(-0.5 * x * x)
		w[i] = float32(v)
		sum += v
	}
	for i := range w {
		w[i] = float32(float64(w[i]) / sum)
	}
}

// reflect maps an index outside [0, n) back inside by mirror reflection without repeating the
// edge (PyTorch's "reflect" padding), repeatedly when the kernel is wider than the image.
func reflect(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}

var blurPool = sync.Pool{New: func() any { return new([]float32) }}

// BlurInPlace convolves every channel of img with a k×k Gaussian of standard deviation sigma,
// separably, with reflection padding. Kernel taps whose weight is below 1e-7 of the total are
// skipped (they cannot change a float32 value in [0, 1] by more than that).
func BlurInPlace(img data.Image, k int, sigma float64) {
	if k%2 == 0 {
		k++
	}
	var wa [64]float32
	var w []float32
	if k <= len(wa) {
		w = wa[:k]
	} else {
		w = make([]float32, k)
	}
	gaussianKernel(w, sigma)
	for len(w) > 1 && w[0] < 1e-7 {
		w = w[1 : len(w)-1]
	}
	k = len(w)
	r := k / 2
	if r == 0 {
		return
	}
	H, W := img.H, img.W
	bp := blurPool.Get().(*[]float32)
	need := (H+2*r)*W + W + 2*r
	if cap(*bp) < need {
		*bp = make([]float32, need)
	}
	buf := (*bp)[:need]
	rowBuf := buf[:W+2*r]
	tmp := buf[W+2*r:] // (H+2r) rows of W: the horizontally blurred plane, padded by rows
	plane := H * W
	wc := w[r]
	for c := 0; c < img.C; c++ {
		p := img.Pix[c*plane : (c+1)*plane]
		// Horizontal pass: each row through a padded copy into tmp rows r..r+H-1.
		for y := 0; y < H; y++ {
			row := p[y*W : (y+1)*W]
			copy(rowBuf[r:], row)
			for i := 1; i <= r; i++ {
				rowBuf[r-i] = row[reflect(-i, W)]
				rowBuf[r+W-1+i] = row[reflect(W-1+i, W)]
			}
			symmetricTaps(tmp[(r+y)*W:(r+y+1)*W], rowBuf, 1, w, wc)
		}
		// Reflect rows (blurring rows commutes with permuting them).
		for i := 1; i <= r; i++ {
			copy(tmp[(r-i)*W:(r-i+1)*W], tmp[(r+reflect(-i, H))*W:])
			copy(tmp[(r+H-1+i)*W:(r+H+i)*W], tmp[(r+reflect(H-1+i, H))*W:])
		}
		// Vertical pass: each output row is a weighted sum of 2r+1 rows of tmp.
		for y := 0; y < H; y++ {
			symmetricTaps(p[y*W:(y+1)*W], tmp[y*W:], W, w, wc)
		}
	}
	blurPool.Put(bp)
}

// symmetricTaps sets out[x] = Σ_j w[j]·src[x·1 + j·stride] for a symmetric kernel w of odd
// length whose centre weight is wc, adding mirrored taps in pairs.
func symmetricTaps(out, src []float32, stride int, w []float32, wc float32) {
	n := len(out)
	r := len(w) / 2
	c := src[r*stride : r*stride+n]
	for x := range out {
		out[x] = wc * c[x]
	}
	j := 0
	for ; j+1 < r; j += 2 { // two pairs of taps per pass over out
		a0 := src[j*stride : j*stride+n]
		b0 := src[(2*r-j)*stride : (2*r-j)*stride+n]
		a1 := src[(j+1)*stride : (j+1)*stride+n]
		b1 := src[(2*r-j-1)*stride : (2*r-j-1)*stride+n]
		w0, w1 := w[j], w[j+1]
		for x := range out {
			out[x] += w0*(a0[x]+b0[x]) + w1*(a1[x]+b1[x])
		}
	}
	for ; j < r; j++ {
		a := src[j*stride : j*stride+n]
		b := src[(2*r-j)*stride : (2*r-j)*stride+n]
		wj := w[j]
		for x := range out {
			out[x] += wj * (a[x] + b[x])
		}
	}
}
