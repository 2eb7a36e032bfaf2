package augment

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/data"
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e37)) }

// ramp returns an image whose pixels are distinct values in [0, 1].
func ramp(c, h, w int) data.Image {
	img := data.NewImage(c, h, w)
	for i := range img.Pix {
		img.Pix[i] = float32(i) / float32(len(img.Pix))
	}
	return img
}

func random(c, h, w int, seed uint64) data.Image {
	r := rng(seed)
	img := data.NewImage(c, h, w)
	for i := range img.Pix {
		img.Pix[i] = r.Float32()
	}
	return img
}

func constant(c, h, w int, v float32) data.Image {
	img := data.NewImage(c, h, w)
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

func bytesOf(img data.Image) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, img.Pix)
	return b.Bytes()
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func mean(p []float32) float64 {
	var s float64
	for _, v := range p {
		s += float64(v)
	}
	return s / float64(len(p))
}

func TestFlipMovesKnownPixel(t *testing.T) {
	img := data.NewImage(2, 3, 5)
	img.Set(1, 0, 1, 1) // channel 1, y 0, x 1
	h := HorizontalFlip{P: 1}.Apply(img, rng(1))
	if h.At(1, 0, 3) != 1 || h.At(1, 0, 1) != 0 {
		t.Errorf("horizontal flip: pixel (y0,x1) did not move to (y0,x3)")
	}
	v := VerticalFlip{P: 1}.Apply(img, rng(1))
	if v.At(1, 2, 1) != 1 || v.At(1, 0, 1) != 0 {
		t.Errorf("vertical flip: pixel (y0,x1) did not move to (y2,x1)")
	}
	if img.At(1, 0, 1) != 1 {
		t.Errorf("Apply modified its input")
	}
	n := HorizontalFlip{P: 0}.Apply(img, rng(1))
	if !bytes.Equal(bytesOf(n), bytesOf(img)) {
		t.Errorf("flip with P=0 changed the image")
	}
}

func TestRandomResizedCrop(t *testing.T) {
	t.Run("constant image stays constant", func(t *testing.T) {
		img := constant(3, 40, 30, 0.37)
		for s := uint64(0); s < 50; s++ {
			out := RandomResizedCrop{Height: 16, Width: 20}.Apply(img, rng(s))
			if out.C != 3 || out.H != 16 || out.W != 20 {
				t.Fatalf("shape %dx%dx%d", out.C, out.H, out.W)
			}
			for _, v := range out.Pix {
				if !near(float64(v), 0.37, 1e-6) {
					t.Fatalf("seed %d: value %v, want 0.37", s, v)
				}
			}
		}
	})
	t.Run("scale 1 ratio 1 is the identity", func(t *testing.T) {
		img := ramp(3, 24, 24)
		rrc := RandomResizedCrop{Height: 24, Width: 24, Scale: [2]float64{1, 1}, Ratio: [2]float64{1, 1}}
		out := rrc.Apply(img, rng(7))
		if !bytes.Equal(bytesOf(out), bytesOf(img)) {
			t.Errorf("output differs from input")
		}
	})
	t.Run("regions fit and follow the scale range", func(t *testing.T) {
		for _, scale := range [][2]float64{{0.2, 1}, {0.05, 0.4}, {0.5, 0.5}} {
			rrc := RandomResizedCrop{Height: 8, Width: 8, Scale: scale}
			r := rng(3)
			lo, hi := math.Inf(1), math.Inf(-1)
			for range 1000 {
				top, left, h, w := rrc.Params(28, 28, r)
				if top < 0 || left < 0 || h < 1 || w < 1 || top+h > 28 || left+w > 28 {
					t.Fatalf("region %d,%d %dx%d outside 28x28", top, left, h, w)
				}
				// The drawn area fraction lies in the scale range; the side lengths are rounded to
				// whole pixels, which moves the area by at most about half a pixel per side.
				frac := float64(h*w) / (28 * 28)
				slack := (float64(h+w)/2 + 0.25) / (28 * 28)
				if frac < scale[0]-slack || frac > scale[1]+slack {
					t.Fatalf("scale %v: region %dx%d covers %.3f of the image", scale, h, w, frac)
				}
				lo, hi = math.Min(lo, frac), math.Max(hi, frac)
			}
			// And it covers the range, not one corner of it.
			if span := scale[1] - scale[0]; lo > scale[0]+0.1*span+0.02 || hi < scale[1]-0.1*span-0.02 {
				t.Errorf("scale %v: areas drawn only in [%.3f, %.3f]", scale, lo, hi)
			}
		}
	})
	t.Run("impossible ratio falls back to a centre crop", func(t *testing.T) {
		rrc := RandomResizedCrop{Height: 8, Width: 8, Scale: [2]float64{1, 1}, Ratio: [2]float64{2, 2}}
		top, left, h, w := rrc.Params(20, 10, rng(1)) // in ratio 0.5 < 2: full width
		if w != 10 || h != 5 || left != 0 || top != 7 {
			t.Errorf("fallback region %d,%d %dx%d, want 7,0 5x10", top, left, h, w)
		}
	})
	t.Run("bilinear upsampling interpolates", func(t *testing.T) {
		img := data.NewImage(1, 1, 2)
		img.Pix[0], img.Pix[1] = 0, 1
		out := Resize{Height: 1, Width: 4}.Apply(img, nil)
		want := []float32{0, 0.25, 0.75, 1} // half-pixel centres, clamped at the edges
		for i, v := range want {
			if !near(float64(out.Pix[i]), float64(v), 1e-6) {
				t.Fatalf("got %v, want %v", out.Pix, want)
			}
		}
	})
}

func TestColorJitterKeepsRange(t *testing.T) {
	cases := []struct {
		name string
		c    int
		cj   ColorJitter
	}{
		{"rgb strong", 3, ColorJitter{0.8, 0.8, 0.8, 0.2, 1}},
		{"rgb hue only", 3, ColorJitter{Hue: 0.5, P: 1}},
		{"gray brightness contrast", 1, ColorJitter{Brightness: 0.4, Contrast: 0.4, P: 1}},
		{"gray all", 1, ColorJitter{0.8, 0.8, 0.8, 0.2, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for s := uint64(0); s < 30; s++ {
				out := tc.cj.Apply(random(tc.c, 12, 12, s), rng(s))
				for _, v := range out.Pix {
					if v < 0 || v > 1 || v != v {
						t.Fatalf("seed %d: value %v outside [0, 1]", s, v)
					}
				}
			}
		})
	}
}

func TestColorJitterOperations(t *testing.T) {
	t.Run("contrast blends with the grayscale mean", func(t *testing.T) {
		img := data.NewImage(1, 1, 2)
		img.Pix[0], img.Pix[1] = 0.2, 0.6 // mean 0.4
		AdjustContrast(img, 0.5)
		if !near(float64(img.Pix[0]), 0.3, 1e-6) || !near(float64(img.Pix[1]), 0.5, 1e-6) {
			t.Errorf("got %v, want [0.3 0.5]", img.Pix)
		}
	})
	t.Run("brightness scales and clamps", func(t *testing.T) {
		img := data.NewImage(1, 1, 2)
		img.Pix[0], img.Pix[1] = 0.2, 0.8
		AdjustBrightness(img, 1.5)
		if !near(float64(img.Pix[0]), 0.3, 1e-6) || img.Pix[1] != 1 {
			t.Errorf("got %v, want [0.3 1]", img.Pix)
		}
	})
	t.Run("saturation and hue leave one channel alone", func(t *testing.T) {
		img := random(1, 5, 5, 1)
		want := bytesOf(img)
		AdjustSaturation(img, 0.1)
		AdjustHue(img, 0.3)
		if !bytes.Equal(bytesOf(img), want) {
			t.Errorf("one-channel image changed")
		}
	})
	t.Run("hue shift by a full turn is the identity", func(t *testing.T) {
		for _, turn := range [][]float32{{0.25, 0.25, 0.25, 0.25}, {0.4, 0.35, 0.25}, {1}, {-0.3, -0.7}} {
			img := random(3, 6, 6, 2)
			orig := img.Clone()
			for _, s := range turn {
				AdjustHue(img, s)
			}
			for i := range img.Pix {
				if !near(float64(img.Pix[i]), float64(orig.Pix[i]), 1e-5) {
					t.Fatalf("shifts %v: pixel %d: %v, want %v", turn, i, img.Pix[i], orig.Pix[i])
				}
			}
		}
		// A quarter turn alone is not: the test above can fail.
		img := random(3, 6, 6, 2)
		orig := img.Clone()
		AdjustHue(img, 0.25)
		moved := false
		for i := range img.Pix {
			moved = moved || !near(float64(img.Pix[i]), float64(orig.Pix[i]), 1e-3)
		}
		if !moved {
			t.Error("a quarter-turn hue shift left the image unchanged")
		}
	})
	t.Run("hue of pure red by a third is green", func(t *testing.T) {
		img := data.NewImage(3, 1, 1)
		img.Pix[0] = 1
		AdjustHue(img, 1.0/3)
		if !near(float64(img.Pix[0]), 0, 1e-5) || !near(float64(img.Pix[1]), 1, 1e-5) || !near(float64(img.Pix[2]), 0, 1e-5) {
			t.Errorf("got %v, want [0 1 0]", img.Pix)
		}
	})
}

func TestRandomGrayscale(t *testing.T) {
	img := random(3, 4, 4, 3)
	out := RandomGrayscale{P: 1}.Apply(img, rng(1))
	for i := 0; i < 16; i++ {
		want := 0.2989*img.Pix[i] + 0.587*img.Pix[16+i] + 0.114*img.Pix[32+i]
		for c := 0; c < 3; c++ {
			if !near(float64(out.Pix[c*16+i]), float64(want), 1e-6) {
				t.Fatalf("channel %d pixel %d: %v, want %v", c, i, out.Pix[c*16+i], want)
			}
		}
	}
}

func TestNormalizeKnownValues(t *testing.T) {
	img := data.NewImage(2, 1, 2)
	copy(img.Pix, []float32{0.5, 1, 0.25, 0})
	out := Normalize{Mean: []float32{0.5, 0.25}, Std: []float32{0.5, 0.25}}.Apply(img, nil)
	want := []float32{0, 1, 0, -1}
	for i := range want {
		if !near(float64(out.Pix[i]), float64(want[i]), 1e-6) {
			t.Fatalf("got %v, want %v", out.Pix, want)
		}
	}
	fm := Normalize{FashionMNISTMean, FashionMNISTStd}.Apply(constant(1, 2, 2, 0.2860), nil)
	if !near(float64(fm.Pix[0]), 0, 1e-6) {
		t.Errorf("Fashion-MNIST mean standardised to %v, want 0", fm.Pix[0])
	}
}

func TestGaussianBlur(t *testing.T) {
	t.Run("constant stays constant", func(t *testing.T) {
		for _, k := range []int{3, 5, 23, 61} {
			out := GaussianBlur{KernelSize: k, Sigma: [2]float64{2, 2}, P: 1}.Apply(constant(3, 28, 20, 0.6), rng(1))
			for _, v := range out.Pix {
				if !near(float64(v), 0.6, 1e-5) {
					t.Fatalf("kernel %d: value %v, want 0.6", k, v)
				}
			}
		}
	})
	t.Run("mean is about preserved and variance drops", func(t *testing.T) {
		img := random(1, 64, 64, 5)
		out := GaussianBlur{Sigma: [2]float64{1.5, 1.5}, P: 1}.Apply(img, rng(1))
		if !near(mean(out.Pix), mean(img.Pix), 0.01) {
			t.Errorf("mean %v, input mean %v", mean(out.Pix), mean(img.Pix))
		}
		v := func(p []float32) float64 {
			m, s := mean(p), 0.0
			for _, x := range p {
				s += (float64(x) - m) * (float64(x) - m)
			}
			return s
		}
		if v(out.Pix) > 0.5*v(img.Pix) {
			t.Errorf("blur did not smooth: variance %v vs %v", v(out.Pix), v(img.Pix))
		}
	})
	t.Run("default kernel is 10% of the side and odd", func(t *testing.T) {
		for side, want := range map[int]int{28: 3, 32: 3, 96: 11, 224: 23} {
			if got := KernelSizeFor(side); got != want {
				t.Errorf("side %d: kernel %d, want %d", side, got, want)
			}
		}
	})
}

func TestSolarizeInvertsAboveThreshold(t *testing.T) {
	img := data.NewImage(1, 1, 4)
	copy(img.Pix, []float32{0.1, 0.49, 0.5, 0.9})
	out := Solarize{Threshold: 0.5, P: 1}.Apply(img, rng(1))
	want := []float32{0.1, 0.49, 0.5, 0.1}
	for i := range want {
		if !near(float64(out.Pix[i]), float64(want[i]), 1e-6) {
			t.Fatalf("got %v, want %v", out.Pix, want)
		}
	}
}

func TestPresetsAreReproducible(t *testing.T) {
	for _, name := range Presets() {
		for _, ch := range []int{1, 3} {
			t.Run(name+"/"+string(rune('0'+ch)), func(t *testing.T) {
				views, err := Preset(name, 16, ch)
				if err != nil {
					t.Fatal(err)
				}
				img := random(ch, 20, 18, 9)
				orig := bytesOf(img)
				for v, tr := range views {
					a := tr.Apply(img, SampleRNG(1, 0, 5, v))
					b := tr.Apply(img, SampleRNG(1, 0, 5, v))
					if !bytes.Equal(bytesOf(a), bytesOf(b)) {
						t.Errorf("view %d: same seed, different bytes", v)
					}
					if name == "none" || name == "eval" {
						continue
					}
					if a.H != 16 || a.W != 16 || a.C != ch {
						t.Errorf("view %d: shape %dx%dx%d", v, a.C, a.H, a.W)
					}
					differ := false
					for s := uint64(2); s < 6 && !differ; s++ {
						c := tr.Apply(img, SampleRNG(s, 0, 5, v))
						differ = !bytes.Equal(bytesOf(a), bytesOf(c))
					}
					if !differ {
						t.Errorf("view %d: different seeds give the same bytes", v)
					}
				}
				if !bytes.Equal(bytesOf(img), orig) {
					t.Errorf("preset modified its input")
				}
			})
		}
	}
}

func TestPresetUnknownNameListsKnown(t *testing.T) {
	_, err := Preset("simclr-v9", 28, 1)
	if err == nil || !strings.Contains(err.Error(), "small-gray") || !strings.Contains(err.Error(), "byol") {
		t.Errorf("error %v does not list the known presets", err)
	}
}

func TestSampleRNGDependsOnEveryInput(t *testing.T) {
	base := SampleRNG(1, 2, 3, 0).Uint64()
	for i, r := range []*rand.Rand{SampleRNG(2, 2, 3, 0), SampleRNG(1, 3, 3, 0), SampleRNG(1, 2, 4, 0), SampleRNG(1, 2, 3, 1)} {
		if r.Uint64() == base {
			t.Errorf("variant %d gives the same stream", i)
		}
	}
}

func TestApplyToMatchesApplyWithoutAllocating(t *testing.T) {
	for _, name := range []string{"small-gray", "simclr", "byol"} {
		ch := 3
		if name == "small-gray" {
			ch = 1
		}
		views, _ := Preset(name, 24, ch)
		img := random(ch, 28, 28, 4)
		dst := make([]float32, ch*24*24)
		var s Scratch
		for v, tr := range views {
			want := tr.Apply(img, SampleRNG(3, 1, 2, v))
			got := ApplyTo(tr, dst, img, SampleRNG(3, 1, 2, v), &s)
			if !sameMem(got.Pix, dst) || !bytes.Equal(bytesOf(got), bytesOf(want)) {
				t.Errorf("%s view %d: ApplyTo differs from Apply", name, v)
			}
		}
		pcg := rand.NewPCG(0, 0)
		r := rand.New(pcg)
		i := 0
		allocs := testing.AllocsPerRun(50, func() {
			Reseed(pcg, 1, 0, i, 0)
			i++
			ApplyTo(views[0], dst, img, r, &s)
		})
		if allocs > 0 {
			t.Errorf("%s: %v allocations per ApplyTo", name, allocs)
		}
	}
}

func TestSCARF(t *testing.T) {
	const n, d = 200, 50
	rows := make([]float32, n*d)
	for i := range rows {
		rows[i] = float32(1000 + i) // every value unique and distinguishable from the input
	}
	sc, err := NewSCARFFromRows(rows, n, d, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	x := data.NewImage(1, 1, d) // zeros
	r := rng(1)
	for trial := 0; trial < 20; trial++ {
		out := sc.Apply(x, r)
		changed := 0
		for j, v := range out.Pix {
			if v == 0 {
				continue
			}
			changed++
			k := int(v) - 1000
			if k%d != j {
				t.Fatalf("feature %d took a value of feature %d", j, k%d)
			}
		}
		if changed != 30 {
			t.Fatalf("corrupted %d of %d features, want 30", changed, d)
		}
	}
	if _, err := NewSCARFFromRows(rows, n, d, 1.5); err == nil {
		t.Errorf("rate 1.5 accepted")
	}
}

func TestGaussianNoise(t *testing.T) {
	x := data.NewImage(1, 1, 10000)
	out := GaussianNoise{Std: 0.5}.Apply(x, rng(2))
	var ss float64
	for _, v := range out.Pix {
		ss += float64(v) * float64(v)
	}
	if sd := math.Sqrt(ss / 10000); !near(sd, 0.5, 0.02) {
		t.Errorf("noise std %v, want 0.5", sd)
	}
}

func benchPreset(b *testing.B, name string, size, ch, in int) {
	views, _ := Preset(name, size, ch)
	img := random(ch, in, in, 1)
	dst := make([]float32, ch*size*size)
	var s Scratch
	pcg := rand.NewPCG(0, 0)
	r := rand.New(pcg)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Reseed(pcg, 1, 0, i, i&1)
		ApplyTo(views[i&1], dst, img, r, &s)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
}

func BenchmarkSmallGray28(b *testing.B) { benchPreset(b, "small-gray", 28, 1, 28) }
func BenchmarkSimCLR224(b *testing.B)   { benchPreset(b, "simclr", 224, 3, 256) }

func TestAdjustHueMatchesTorchvisionRoundTrip(t *testing.T) {
	img := random(3, 16, 16, 11)
	img.Pix[0], img.Pix[256], img.Pix[512] = 0.5, 0.5, 0.5 // a gray pixel
	for _, shift := range []float32{-0.5, -0.31, -0.1, 0, 0.05, 0.2, 0.37, 0.5} {
		got := img.Clone()
		AdjustHue(got, shift)
		for i := 0; i < 256; i++ {
			h, s, v := rgbToHSV(img.Pix[i], img.Pix[256+i], img.Pix[512+i])
			h += shift
			h -= float32(math.Floor(float64(h)))
			r, g, b := hsvToRGB(h, s, v)
			if !near(float64(got.Pix[i]), float64(r), 2e-6) || !near(float64(got.Pix[256+i]), float64(g), 2e-6) ||
				!near(float64(got.Pix[512+i]), float64(b), 2e-6) {
				t.Fatalf("shift %v pixel %d: got (%v %v %v), torchvision's conversions give (%v %v %v)", shift, i,
					got.Pix[i], got.Pix[256+i], got.Pix[512+i], r, g, b)
			}
		}
	}
}

// rgbToHSV is torchvision's _rgb2hsv, the reference for AdjustHue (H, S and V in [0, 1]).
func rgbToHSV(r, g, b float32) (h, s, v float32) {
	maxc := max(r, g, b)
	minc := min(r, g, b)
	if maxc == minc {
		return 0, 0, maxc
	}
	cr := maxc - minc
	s = cr / maxc
	rc := (maxc - r) / cr
	gc := (maxc - g) / cr
	bc := (maxc - b) / cr
	switch {
	case maxc == r:
		h = bc - gc
	case maxc == g:
		h = 2 + rc - bc
	default:
		h = 4 + gc - rc
	}
	h = h/6 + 1
	h -= float32(math.Floor(float64(h)))
	return h, s, maxc
}

// hsvToRGB is torchvision's _hsv2rgb.
func hsvToRGB(h, s, v float32) (r, g, b float32) {
	h6 := h * 6
	fi := float32(math.Floor(float64(h6)))
	f := h6 - fi
	i := int(fi) % 6
	if i < 0 {
		i += 6
	}
	p := clamp01(v * (1 - s))
	q := clamp01(v * (1 - s*f))
	t := clamp01(v * (1 - s*(1-f)))
	switch i {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	default:
		return v, p, q
	}
}

func TestPipelineNeverModifiesItsInput(t *testing.T) {
	identity := Func(func(img data.Image, _ *rand.Rand) data.Image { return img })
	cases := map[string]*Pipeline{
		"in-place only":              Compose(HorizontalFlip{P: 1}, Solarize{Threshold: 0, P: 1}),
		"generic identity first":     Compose(identity, HorizontalFlip{P: 1}),
		"resize then in-place":       Compose(Resize{Height: 5, Width: 5}, VerticalFlip{P: 1}),
		"in-place, resize, in-place": Compose(HorizontalFlip{P: 1}, Resize{Height: 4, Width: 6}, Solarize{P: 1}),
	}
	for name, p := range cases {
		img := ramp(2, 4, 6)
		orig := bytesOf(img)
		var s Scratch
		out := ApplyTo(p, make([]float32, len(img.Pix)), img, rng(1), &s)
		if !bytes.Equal(bytesOf(img), orig) {
			t.Errorf("%s: input modified", name)
		}
		if bytes.Equal(bytesOf(out), orig) {
			t.Errorf("%s: output equals input", name)
		}
	}
}
