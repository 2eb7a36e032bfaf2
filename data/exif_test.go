package data

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"
)

// exifSegment builds an APP1 Exif segment whose IFD0 holds one orientation tag.
func exifSegment(orientation uint16, order binary.ByteOrder) []byte {
	var tiff bytes.Buffer
	if order == binary.LittleEndian {
		tiff.WriteString("II")
	} else {
		tiff.WriteString("MM")
	}
	w := func(v any) { binary.Write(&tiff, order, v) }
	w(uint16(42))
	w(uint32(8))           // IFD0 offset
	w(uint16(2))           // two entries
	w([]uint16{0x010f, 2}) // Make, ASCII (ignored)
	w([]uint32{4, 0x41424300})
	w([]uint16{0x0112, 3}) // Orientation, SHORT
	w(uint32(1))
	w([]uint16{orientation, 0})
	w(uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// withEXIF inserts seg right after the JPEG's SOI marker.
func withEXIF(jpg, seg []byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// blockJPEG is a 24×16 gray JPEG of six flat 8×8 blocks:
//
//	A B C
//	D E F
//
// with A..F = 0, 50, 100, 150, 200, 250.
func blockJPEG(t *testing.T) []byte {
	m := image.NewGray(image.Rect(0, 0, 24, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 24; x++ {
			m.SetGray(x, y, color.Gray{uint8(50 * (3*(y/8) + x/8))})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestEXIFOrientation(t *testing.T) {
	jpg := blockJPEG(t)
	// Expected block layout after orientation, by hand (rows of block letters).
	layouts := map[uint16][]string{
		1: {"ABC", "DEF"},
		2: {"CBA", "FED"},
		3: {"FED", "CBA"},
		4: {"DEF", "ABC"},
		5: {"AD", "BE", "CF"},
		6: {"DA", "EB", "FC"},
		7: {"FC", "EB", "DA"},
		8: {"CF", "BE", "AD"},
	}
	for o := uint16(1); o <= 8; o++ {
		for _, order := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			file := withEXIF(jpg, exifSegment(o, order))
			if got := JPEGOrientation(file); got != int(o) {
				t.Fatalf("JPEGOrientation = %d, want %d", got, o)
			}
			m, err := DecodeImage(bytes.NewReader(file), DecodeOptions{Gray: true})
			if err != nil {
				t.Fatal(err)
			}
			rows := layouts[o]
			if m.H != 8*len(rows) || m.W != 8*len(rows[0]) {
				t.Fatalf("orientation %d: size %dx%d", o, m.W, m.H)
			}
			for by, row := range rows {
				for bx, letter := range row {
					want := float64(50*(letter-'A')) / 255
					got := float64(m.At(0, 8*by+4, 8*bx+4))
					if math.Abs(got-want) > 3.0/255 {
						t.Fatalf("orientation %d (%v): block (%d,%d) = %.3f, want %c = %.3f", o, order, bx, by, got, letter, want)
					}
				}
			}
			info, err := ProbeImage(bytes.NewReader(file), DecodeOptions{})
			if err != nil || info.Width != m.W || info.Height != m.H || info.Orientation != int(o) {
				t.Fatalf("ProbeImage %+v, %v", info, err)
			}
		}
	}
	t.Run("IgnoreEXIF keeps the stored layout", func(t *testing.T) {
		m, err := DecodeImage(bytes.NewReader(withEXIF(jpg, exifSegment(6, binary.BigEndian))), DecodeOptions{IgnoreEXIF: true})
		if err != nil || m.W != 24 || m.H != 16 {
			t.Fatalf("%dx%d %v", m.W, m.H, err)
		}
	})
}

func TestJPEGOrientationMalformed(t *testing.T) {
	jpg := blockJPEG(t)
	seg := exifSegment(6, binary.BigEndian)
	bad := func(f func(s []byte) []byte) []byte {
		return withEXIF(jpg, f(append([]byte{}, seg...)))
	}
	for name, in := range map[string][]byte{
		"no EXIF":                jpg,
		"not a JPEG":             []byte("\x89PNG...."),
		"empty":                  nil,
		"orientation 9":          withEXIF(jpg, exifSegment(9, binary.BigEndian)),
		"orientation 0":          withEXIF(jpg, exifSegment(0, binary.BigEndian)),
		"bad byte order":         bad(func(s []byte) []byte { s[10] = 'X'; return s }),
		"IFD offset past end":    bad(func(s []byte) []byte { s[17] = 200; return s }),
		"entry count past end":   bad(func(s []byte) []byte { s[19], s[32] = 200, 0; return s }),
		"segment length too big": bad(func(s []byte) []byte { s[2] = 0xff; return s }),
		"truncated in segment":   withEXIF(jpg, seg)[:20],
	} {
		if got := JPEGOrientation(in); got != 1 {
			t.Errorf("%s: orientation %d, want 1", name, got)
		}
	}
}
