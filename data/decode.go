package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"

	// Image formats read by DecodeImage and image folders.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels is the largest image (width × height) DecodeImage accepts when
// DecodeOptions.MaxPixels is 0: 64 Mpx, an 8192×8192 image, about 1 GiB once decoded to
// float32 RGB.
const DefaultMaxPixels = 1 << 26

// MaxImageFileBytes bounds the size of one image file that DecodeImage reads (256 MiB).
const MaxImageFileBytes = 256 << 20

// Errors that DecodeImage and the folder reader wrap, for errors.Is.
var (
	ErrEmptyFile         = errors.New("empty file")
	ErrUnsupportedFormat = errors.New("unsupported image format (want JPEG, PNG, GIF, BMP or WebP)")
	ErrTooLarge          = errors.New("image too large")
	// ErrMixedSizes: a folder's images differ in size and no resize was asked for
	// (FolderOptions' Width and Height; the CLI's --image-size).
	ErrMixedSizes = errors.New("mixed image sizes")
	// ErrBadPixels: the header reads but the pixel data does not decode (a copy cut short, a
	// damaged file).
	ErrBadPixels = errors.New("the pixel data does not decode (truncated or damaged file)")
)

// Interp selects the resampling filter of a resize.
type Interp int

const (
	// Bilinear is a triangle filter; when shrinking, its support widens with the scale
	// (antialiased, as Pillow's and torchvision's antialiased bilinear resize).
	Bilinear Interp = iota
	// Area averages the source pixels that each output pixel covers, weighted by the
	// overlap (OpenCV's INTER_AREA for shrinking); it repeats pixels when enlarging.
	Area
)

func (i Interp) String() string {
	switch i {
	case Bilinear:
		return "bilinear"
	case Area:
		return "area"
	}
	return fmt.Sprintf("Interp(%d)", int(i))
}

// DecodeOptions says how an image file becomes an Image. The zero value decodes to RGB at the
// file's own size, respecting JPEG EXIF orientation.
type DecodeOptions struct {
	Gray          bool   // one channel (ITU-R 601 luma) instead of three (RGB)
	Width, Height int    // when both > 0, resize to Width×Height (after orientation)
	Interp        Interp // the resize filter
	MaxPixels     int    // refuse images with more pixels than this before decoding; 0 = DefaultMaxPixels
	IgnoreEXIF    bool   // do not apply the JPEG EXIF orientation tag
}

func (o DecodeOptions) maxPixels() int {
	if o.MaxPixels > 0 {
		return o.MaxPixels
	}
	return DefaultMaxPixels
}

func (o DecodeOptions) check() error {
	if o.Width < 0 || o.Height < 0 || (o.Width > 0) != (o.Height > 0) {
		return fmt.Errorf("resize to %dx%d: give both width and height, or neither", o.Width, o.Height)
	}
	if o.Interp != Bilinear && o.Interp != Area {
		return fmt.Errorf("unknown interpolation %d", int(o.Interp))
	}
	return nil
}

// ImageInfo is what ProbeImage learns from a file's header without decoding its pixels.
type ImageInfo struct {
	Width, Height int    // as displayed, after the EXIF orientation (swapped for orientations 5–8)
	Format        string // "jpeg", "png", "gif", "bmp" or "webp"
	Orientation   int    // EXIF orientation 1–8 (1 when absent or not a JPEG)
	Gray          bool   // the file stores one gray channel (its color model is Gray or Gray16)
}

// ProbeImage reads an image's header (image.DecodeConfig, and the EXIF orientation of a JPEG)
// and checks its size against MaxPixels, without decoding the pixels.
func ProbeImage(r io.Reader, opt DecodeOptions) (ImageInfo, error) {
	br := bufio.NewReaderSize(r, exifScanBytes)
	head, _ := br.Peek(exifScanBytes)
	if len(head) == 0 {
		return ImageInfo{}, ErrEmptyFile
	}
	var cfg image.Config
	var format string
	err := safely(func() (err error) {
		cfg, format, err = image.DecodeConfig(br)
		return err
	})
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return ImageInfo{}, ErrUnsupportedFormat
		}
		return ImageInfo{}, fmt.Errorf("reading %s header: %w", formatOf(head), err)
	}
	info := ImageInfo{Width: cfg.Width, Height: cfg.Height, Format: format, Orientation: 1,
		Gray: cfg.ColorModel == color.GrayModel || cfg.ColorModel == color.Gray16Model}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return info, fmt.Errorf("%s of size %dx%d", format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(opt.maxPixels()) {
		return info, fmt.Errorf("%w: %s of %dx%d pixels, over the limit of %d", ErrTooLarge, format, cfg.Width, cfg.Height, opt.maxPixels())
	}
	if format == "jpeg" && !opt.IgnoreEXIF {
		info.Orientation = JPEGOrientation(head)
		if info.Orientation >= 5 {
			info.Width, info.Height = info.Height, info.Width
		}
	}
	return info, nil
}

// CheckPixels decodes the pixels of the image file r holds, without converting or keeping them,
// and returns an error wrapping ErrBadPixels when they do not decode. Call it after ProbeImage,
// which bounds the image's size.
func CheckPixels(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, MaxImageFileBytes+1))
	if err != nil {
		return err
	}
	if len(b) > MaxImageFileBytes {
		return fmt.Errorf("%w: file over %d bytes", ErrTooLarge, MaxImageFileBytes)
	}
	err = safely(func() error {
		_, _, err := image.Decode(bytes.NewReader(b))
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadPixels, err)
	}
	return nil
}

// endsComplete reports whether the file r of size bytes ends as a whole file of its format does:
// JPEG with the EOI marker, PNG with the IEND chunk, GIF with its trailer byte, BMP and WebP at
// the length their headers give. It reads at most 12 bytes. A false answer is only a suspicion
// (some writers append bytes after the end, or leave the BMP length 0): confirm with CheckPixels.
func endsComplete(r io.ReaderAt, size int64, format string) bool {
	tail := func(n int64) []byte {
		if size < n {
			return nil
		}
		b := make([]byte, n)
		if _, err := r.ReadAt(b, size-n); err != nil {
			return nil
		}
		return b
	}
	le32 := func(off int64) (int64, bool) {
		var b [4]byte
		if _, err := r.ReadAt(b[:], off); err != nil {
			return 0, false
		}
		return int64(b[0]) | int64(b[1])<<8 | int64(b[2])<<16 | int64(b[3])<<24, true
	}
	switch format {
	case "jpeg":
		return bytes.Equal(tail(2), []byte{0xff, 0xd9})
	case "png":
		return bytes.Equal(tail(12), []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82})
	case "gif":
		return bytes.Equal(tail(1), []byte{0x3b})
	case "bmp": // bfSize, the file's length, at offset 2
		n, ok := le32(2)
		return ok && n > 0 && size >= n
	case "webp": // the RIFF chunk's length, after its 8-byte header, at offset 4
		n, ok := le32(4)
		return ok && size >= n+8
	}
	return false
}

// formatOf names the format from the magic bytes, for error messages.
func formatOf(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xd8}):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG")):
		return "png"
	case bytes.HasPrefix(head, []byte("GIF8")):
		return "gif"
	case bytes.HasPrefix(head, []byte("BM")):
		return "bmp"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return "webp"
	}
	return "image"
}

// DecodeImage decodes a JPEG, PNG, GIF (first frame), BMP or WebP image into a CHW float32
// Image in [0, 1]: gray or RGB, oriented by its EXIF tag (JPEG), and resized when opt asks.
// The dimensions are checked against opt.MaxPixels before any pixel is decoded (a guard
// against decompression bombs). Alpha is ignored as in FromImage (colours are premultiplied);
// values agree with FromImage to within 1/255 (exactly for gray and 8-bit RGBA sources).
// It never panics: a decoder's panic is returned as an error.
func DecodeImage(r io.Reader, opt DecodeOptions) (Image, error) {
	if err := opt.check(); err != nil {
		return Image{}, err
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxImageFileBytes+1))
	if err != nil {
		return Image{}, err
	}
	if len(b) > MaxImageFileBytes {
		return Image{}, fmt.Errorf("%w: file over %d bytes", ErrTooLarge, MaxImageFileBytes)
	}
	info, err := ProbeImage(bytes.NewReader(b), opt)
	if err != nil {
		return Image{}, err
	}
	var img image.Image
	err = safely(func() (err error) {
		img, _, err = image.Decode(bytes.NewReader(b))
		return err
	})
	if err != nil {
		return Image{}, fmt.Errorf("decoding %s: %w", info.Format, err)
	}
	if bd := img.Bounds(); bd.Dx() <= 0 || bd.Dy() <= 0 || int64(bd.Dx())*int64(bd.Dy()) > int64(opt.maxPixels()) {
		return Image{}, fmt.Errorf("decoding %s: decoded size %dx%d", info.Format, bd.Dx(), bd.Dy())
	}
	m := toFloat(img, opt.Gray)
	m = Orient(m, info.Orientation)
	if opt.Width > 0 && (m.W != opt.Width || m.H != opt.Height) {
		m = Resize(m, opt.Width, opt.Height, opt.Interp)
	}
	return m, nil
}

// safely runs f, turning a panic into an error.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return f()
}

// toFloat converts a decoded image to CHW floats, with fast paths for 8-bit images.
func toFloat(img image.Image, gray bool) Image {
	switch src := img.(type) {
	case *image.Gray:
		return grayToFloat(src, gray)
	case *image.Gray16, *image.RGBA64, *image.NRGBA64:
		return FromImage(img, gray)
	case *image.RGBA:
		return rgbaToFloat(src, gray)
	}
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	return rgbaToFloat(rgba, gray)
}

func grayToFloat(src *image.Gray, gray bool) Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	c := 3
	if gray {
		c = 1
	}
	out := NewImage(c, h, w)
	plane := w * h
	for y := 0; y < h; y++ {
		row := src.Pix[y*src.Stride : y*src.Stride+w]
		for x, v := range row {
			f := u8ToF32[v]
			for k := 0; k < c; k++ {
				out.Pix[k*plane+y*w+x] = f
			}
		}
	}
	return out
}

func rgbaToFloat(src *image.RGBA, gray bool) Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if gray {
		out := NewImage(1, h, w)
		for y := 0; y < h; y++ {
			row := src.Pix[y*src.Stride : y*src.Stride+4*w]
			for x := 0; x < w; x++ {
				r, g, bl := uint32(row[4*x])*0x101, uint32(row[4*x+1])*0x101, uint32(row[4*x+2])*0x101
				// The same luma as color.Gray16Model (ITU-R 601).
				yy := (19595*r + 38470*g + 7471*bl + 1<<15) >> 16
				out.Pix[y*w+x] = float32(yy) / 65535
			}
		}
		return out
	}
	out := NewImage(3, h, w)
	plane := w * h
	for y := 0; y < h; y++ {
		row := src.Pix[y*src.Stride : y*src.Stride+4*w]
		for x := 0; x < w; x++ {
			i := y*w + x
			out.Pix[i] = u8ToF32[row[4*x]]
			out.Pix[plane+i] = u8ToF32[row[4*x+1]]
			out.Pix[2*plane+i] = u8ToF32[row[4*x+2]]
		}
	}
	return out
}
