package data

import "encoding/binary"

// exifScanBytes is how much of a JPEG's start is searched for the EXIF segment (an APP1
// segment is at most 64 KiB and comes before the image data).
const exifScanBytes = 128 << 10

// JPEGOrientation returns the EXIF orientation (1–8) stored in a JPEG's APP1 "Exif" segment,
// searching the segments before the image data in b (the file's start). It returns 1 when b is
// not a JPEG, has no EXIF orientation, or holds an invalid one. It never panics.
//
// The values are the TIFF ones: 1 normal, 2 mirrored left–right, 3 rotated 180°, 4 mirrored
// top–bottom, 5 transposed, 6 needs a 90° clockwise turn, 7 transversed, 8 needs a 90°
// counter-clockwise turn.
func JPEGOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return 1
	}
	p := 2
	for p+4 <= len(b) {
		if b[p] != 0xff {
			return 1
		}
		marker := b[p+1]
		if marker == 0xff { // fill byte
			p++
			continue
		}
		p += 2
		if marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7) { // no length
			continue
		}
		if marker == 0xda || marker == 0xd9 { // start of scan, end of image
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[p:]))
		if n < 2 || p+n > len(b) {
			return 1
		}
		seg := b[p+2 : p+n]
		if marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		p += n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure; 0 when absent or invalid.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 0
	}
	count := int64(bo.Uint16(t[off:]))
	for i := int64(0); i < count; i++ {
		e := off + 2 + 12*i
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		var v int
		switch bo.Uint16(t[e+2:]) {
		case 3: // SHORT
			v = int(bo.Uint16(t[e+8:]))
		case 4: // LONG, seen in some writers
			v = int(bo.Uint32(t[e+8:]))
		default:
			return 0
		}
		if v < 1 || v > 8 {
			return 0
		}
		return v
	}
	return 0
}

// Orient returns m transformed for display according to an EXIF orientation (see
// JPEGOrientation): orientations 5–8 swap width and height. 1 or an unknown value returns m.
func Orient(m Image, orientation int) Image {
	if orientation < 2 || orientation > 8 {
		return m
	}
	w, h := m.W, m.H
	ow, oh := w, h
	if orientation >= 5 {
		ow, oh = h, w
	}
	out := NewImage(m.C, oh, ow)
	// src(x, y) for each destination pixel (x, y).
	var src func(x, y int) (int, int)
	switch orientation {
	case 2:
		src = func(x, y int) (int, int) { return w - 1 - x, y }
	case 3:
		src = func(x, y int) (int, int) { return w - 1 - x, h - 1 - y }
	case 4:
		src = func(x, y int) (int, int) { return x, h - 1 - y }
	case 5:
		src = func(x, y int) (int, int) { return y, x }
	case 6:
		src = func(x, y int) (int, int) { return y, h - 1 - x }
	case 7:
		src = func(x, y int) (int, int) { return w - 1 - y, h - 1 - x }
	case 8:
		src = func(x, y int) (int, int) { return w - 1 - y, x }
	}
	for c := 0; c < m.C; c++ {
		sp := m.Pix[c*w*h : (c+1)*w*h]
		dp := out.Pix[c*ow*oh : (c+1)*ow*oh]
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				sx, sy := src(x, y)
				dp[y*ow+x] = sp[sy*w+sx]
			}
		}
	}
	return out
}
