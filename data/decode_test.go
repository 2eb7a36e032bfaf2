package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
)

// testPattern is a w×h RGBA image whose pixels all differ.
func testPattern(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.RGBA{uint8(40*x + 3), uint8(50*y + 7), uint8(10*x + 20*y), 255})
		}
	}
	return m
}

func encode(t testing.TB, format string, m image.Image) []byte {
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, m)
	case "jpeg":
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 100})
	case "gif":
		err = gif.Encode(&b, m, nil)
	case "bmp":
		err = bmp.Encode(&b, m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestDecodeImageFormats(t *testing.T) {
	src := testPattern(5, 3)
	for _, tc := range []struct {
		format string
		tol    float64 // against the source pixels
	}{{"png", 0}, {"bmp", 0}, {"gif", 0.25}, {"jpeg", 0.15}} {
		for _, gray := range []bool{false, true} {
			t.Run(tc.format+map[bool]string{false: "/rgb", true: "/gray"}[gray], func(t *testing.T) {
				b := encode(t, tc.format, src)
				got, err := DecodeImage(bytes.NewReader(b), DecodeOptions{Gray: gray})
				if err != nil {
					t.Fatal(err)
				}
				want := FromImage(src, gray)
				if got.C != want.C || got.H != 3 || got.W != 5 {
					t.Fatalf("size %dx%dx%d, want %dx3x5", got.C, got.H, got.W, want.C)
				}
				if d := maxDiff(got.Pix, want.Pix); d > tc.tol+1e-6 {
					t.Fatalf("max difference from the source %v > %v", d, tc.tol)
				}
				// And against FromImage of the same decoded image: within 1/255.
				dec, _, _ := image.Decode(bytes.NewReader(b))
				if d := maxDiff(got.Pix, FromImage(dec, gray).Pix); d > 1.0/255+1e-6 {
					t.Fatalf("differs from FromImage by %v", d)
				}
			})
		}
	}
}

func TestDecodeWebP(t *testing.T) {
	// A lossless WebP from golang.org/x/image's testdata and the PNG of the same pixels.
	w, err := os.ReadFile("testdata/gopher-doc.1bpp.lossless.webp")
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.ReadFile("testdata/gopher-doc.1bpp.png")
	if err != nil {
		t.Fatal(err)
	}
	for _, gray := range []bool{false, true} {
		a, err := DecodeImage(bytes.NewReader(w), DecodeOptions{Gray: gray})
		if err != nil {
			t.Fatal(err)
		}
		b, err := DecodeImage(bytes.NewReader(p), DecodeOptions{Gray: gray})
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(a.Pix, b.Pix); d > 1e-6 || a.W != b.W || a.H != b.H {
			t.Fatalf("webp and png differ by %v (%dx%d vs %dx%d)", d, a.W, a.H, b.W, b.H)
		}
	}
	if _, err := DecodeImage(bytes.NewReader(w[:len(w)/2]), DecodeOptions{}); err == nil {
		t.Fatal("truncated webp: no error")
	}
}

// pngWithSize returns a PNG whose IHDR claims w×h (with a valid CRC) but whose data is tiny.
func pngWithSize(t testing.TB, w, h uint32) []byte {
	b := encode(t, "png", testPattern(2, 2))
	// Signature (8), length (4), "IHDR" (4), then width and height.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestDecodeImageBadInput(t *testing.T) {
	good := encode(t, "png", testPattern(4, 4))
	jpg := encode(t, "jpeg", testPattern(16, 16))
	tests := []struct {
		name    string
		in      []byte
		opt     DecodeOptions
		is      error
		wantErr string
	}{
		{"zero-byte file", nil, DecodeOptions{}, ErrEmptyFile, ""},
		{"not an image", []byte("hello, world"), DecodeOptions{}, ErrUnsupportedFormat, ""},
		{"TIFF is unsupported", []byte("II*\x00\x08\x00\x00\x00"), DecodeOptions{}, ErrUnsupportedFormat, ""},
		{"truncated PNG header", good[:20], DecodeOptions{}, nil, "png header"},
		{"truncated PNG body", good[:len(good)-20], DecodeOptions{}, nil, "decoding png"},
		{"truncated JPEG", jpg[:len(jpg)-40], DecodeOptions{}, nil, "decoding jpeg"},
		{"over MaxPixels", good, DecodeOptions{MaxPixels: 15}, ErrTooLarge, "4x4"},
		{"decompression bomb header", pngWithSize(t, 100000, 100000), DecodeOptions{}, ErrTooLarge, "100000x100000"},
		{"zero width header", pngWithSize(t, 0, 5), DecodeOptions{}, nil, "png"},
		{"width without height", good, DecodeOptions{Width: 3}, nil, "both width and height"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeImage(bytes.NewReader(tc.in), tc.opt)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestResize(t *testing.T) {
	m := NewImage(1, 4, 4)
	for i := range m.Pix {
		m.Pix[i] = float32(i)
	}
	t.Run("area averages 2x2 blocks", func(t *testing.T) {
		got := Resize(m, 2, 2, Area)
		want := []float32{2.5, 4.5, 10.5, 12.5}
		if maxDiff(got.Pix, want) > 1e-5 {
			t.Fatalf("got %v, want %v", got.Pix, want)
		}
	})
	t.Run("bilinear enlarges with half-pixel centres", func(t *testing.T) {
		row := Image{C: 1, H: 1, W: 2, Pix: []float32{0, 1}}
		got := Resize(row, 4, 1, Bilinear)
		want := []float32{0, 0.25, 0.75, 1}
		if maxDiff(got.Pix, want) > 1e-6 {
			t.Fatalf("got %v, want %v", got.Pix, want)
		}
	})
	for _, interp := range []Interp{Bilinear, Area} {
		t.Run(interp.String()+" keeps a constant image constant", func(t *testing.T) {
			c := NewImage(3, 7, 5)
			for i := range c.Pix {
				c.Pix[i] = 0.3
			}
			for _, s := range [][2]int{{2, 3}, {11, 13}, {5, 1}} {
				got := Resize(c, s[0], s[1], interp)
				if got.W != s[0] || got.H != s[1] || got.C != 3 {
					t.Fatalf("size %dx%d", got.W, got.H)
				}
				for _, v := range got.Pix {
					if math.Abs(float64(v)-0.3) > 1e-6 {
						t.Fatalf("%v resize to %v: value %v", interp, s, v)
					}
				}
			}
		})
	}
	t.Run("DecodeImage resizes", func(t *testing.T) {
		b := encode(t, "png", testPattern(6, 4))
		got, err := DecodeImage(bytes.NewReader(b), DecodeOptions{Width: 3, Height: 2, Interp: Area, Gray: true})
		if err != nil || got.W != 3 || got.H != 2 || got.C != 1 {
			t.Fatalf("%dx%dx%d, %v", got.C, got.H, got.W, err)
		}
	})
}

// TestEndsCompleteAndCheckPixels: whole files of every format end as complete; a copy cut
// short does not and fails CheckPixels; bytes appended after a JPEG's end, or a GIF whose
// trailer is missing after a whole frame, are suspicions that CheckPixels clears.
func TestEndsCompleteAndCheckPixels(t *testing.T) {
	for _, format := range []string{"png", "jpeg", "gif", "bmp"} {
		good := encode(t, format, testPattern(8, 8))
		if !endsComplete(bytes.NewReader(good), int64(len(good)), format) {
			t.Errorf("%s: a whole file does not end as complete", format)
		}
		if err := CheckPixels(bytes.NewReader(good)); err != nil {
			t.Errorf("%s: a whole file fails CheckPixels: %v", format, err)
		}
		for _, cut := range []int{1, 10, len(good) / 3} {
			short := good[:len(good)-cut]
			if _, err := ProbeImage(bytes.NewReader(short), DecodeOptions{}); err != nil {
				continue // the header itself is gone: ProbeImage refuses it already
			}
			if endsComplete(bytes.NewReader(short), int64(len(short)), format) {
				t.Errorf("%s cut by %d bytes: ends as complete", format, cut)
			}
			if format == "gif" && cut == 1 {
				continue // only the trailer is gone: the frame is whole and decodes
			}
			if err := CheckPixels(bytes.NewReader(short)); !errors.Is(err, ErrBadPixels) {
				t.Errorf("%s cut by %d bytes: CheckPixels = %v, want ErrBadPixels", format, cut, err)
			}
		}
	}
	webp, err := os.ReadFile("testdata/gopher-doc.1bpp.lossless.webp")
	if err != nil {
		t.Fatal(err)
	}
	if !endsComplete(bytes.NewReader(webp), int64(len(webp)), "webp") {
		t.Error("webp: a whole file does not end as complete")
	}
	if short := webp[:len(webp)-10]; endsComplete(bytes.NewReader(short), int64(len(short)), "webp") {
		t.Error("webp cut by 10 bytes: ends as complete")
	}
	jp := append(encode(t, "jpeg", testPattern(8, 8)), 0, 0, 0, 0)
	if endsComplete(bytes.NewReader(jp), int64(len(jp)), "jpeg") {
		t.Error("a JPEG with bytes after its EOI marker ends as complete")
	}
	if err := CheckPixels(bytes.NewReader(jp)); err != nil {
		t.Errorf("a JPEG with bytes after its EOI marker fails CheckPixels: %v", err)
	}
}
