package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MaxArrayBytes bounds the size that an IDX, CIFAR or .npy header may announce (64 GiB: ten
// million 128-d float32 vectors are 5.1 GB, and a 4 GiB bound refused them), so that
// a corrupt header cannot make a reader allocate without limit. Data is read incrementally, so
// memory follows the bytes actually present, never the header's claim.
const MaxArrayBytes = 64 << 30

// IDX magic numbers of the two files of an MNIST-style dataset.
const (
	IDXImagesMagic = 0x00000803 // unsigned bytes, 3 dimensions: count, rows, columns
	IDXLabelsMagic = 0x00000801 // unsigned bytes, 1 dimension: count
)

// IDXArray is the content of an IDX file of unsigned bytes (type 0x08): its dimensions and its
// values in row-major order.
type IDXArray struct {
	Dims []int
	Data []uint8
}

// ReadIDX reads an IDX file of unsigned bytes, gzip-compressed or not (detected from the first
// bytes). The header must match the data exactly: a short or over-long body is an error. name is
// used in error messages only.
func ReadIDX(r io.Reader, name string) (*IDXArray, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading IDX %s: gzip: %w", name, err)
		}
		defer zr.Close()
		zr.Multistream(false)
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("reading IDX %s: header: %w", name, noEOF(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("reading IDX %s: bad magic number %#08x (want 0x0000080N)", name, binary.BigEndian.Uint32(magic[:]))
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("reading IDX %s: unsupported element type %#02x (only unsigned byte, 0x08)", name, magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, fmt.Errorf("reading IDX %s: zero dimensions", name)
	}
	dimBytes := make([]byte, 4*nd)
	if _, err := io.ReadFull(br, dimBytes); err != nil {
		return nil, fmt.Errorf("reading IDX %s: header with %d dimensions: %w", name, nd, noEOF(err))
	}
	dims := make([]int, nd)
	total, nonZero := int64(1), int64(1) // nonZero bounds every partial product, even when a dimension is 0
	for i := range dims {
		d := binary.BigEndian.Uint32(dimBytes[4*i:])
		dims[i] = int(d)
		total *= int64(d)
		nonZero *= max(int64(d), 1)
		if nonZero > MaxArrayBytes {
			return nil, fmt.Errorf("reading IDX %s: header announces dimensions %v, over the %d-byte limit", name, dimsPrefix(dimBytes, i+1), int64(MaxArrayBytes))
		}
	}
	body, err := io.ReadAll(io.LimitReader(br, total+1))
	if err != nil {
		return nil, fmt.Errorf("reading IDX %s: %w", name, noEOF(err))
	}
	if int64(len(body)) < total {
		return nil, fmt.Errorf("reading IDX %s: truncated: header says dimensions %v (%d bytes of data) but the file holds %d", name, dims, total, len(body))
	}
	if int64(len(body)) > total {
		return nil, fmt.Errorf("reading IDX %s: header says dimensions %v (%d bytes of data) but the file holds more", name, dims, total)
	}
	return &IDXArray{Dims: dims, Data: body}, nil
}

func dimsPrefix(b []byte, n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return out
}

// noEOF turns a bare io.EOF (a file that ends where more was required) into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadIDXFile reads an IDX file from disk (see ReadIDX); errors name the path.
func ReadIDXFile(path string) (*IDXArray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadIDX(f, path)
}

// IDXImages turns an IDX array of 3 dimensions (count, rows, columns) into a one-channel
// U8Dataset without copying; a 4-dimensional array is read as (count, rows, columns, channels)
// and transposed to CHW. labels, when not nil, must be a one-dimensional IDX array of the same
// count. name prefixes sample IDs and error messages.
func IDXImages(images, labels *IDXArray, name string) (*U8Dataset, error) {
	ds := &U8Dataset{Name: name}
	switch len(images.Dims) {
	case 3:
		ds.N, ds.C, ds.H, ds.W = images.Dims[0], 1, images.Dims[1], images.Dims[2]
		ds.Pix = images.Data
	case 4:
		ds.N, ds.H, ds.W, ds.C = images.Dims[0], images.Dims[1], images.Dims[2], images.Dims[3]
		if ds.C*ds.H*ds.W > 0 {
			ds.Pix = hwcToCHW(images.Data, ds.N, ds.H, ds.W, ds.C)
		}
	default:
		return nil, fmt.Errorf("%s: IDX images need 3 dimensions (count, rows, columns), got %v", name, images.Dims)
	}
	if ds.N > 0 && ds.C*ds.H*ds.W == 0 {
		return nil, fmt.Errorf("%s: IDX images of zero size %v", name, images.Dims)
	}
	if labels == nil {
		return ds, nil
	}
	if len(labels.Dims) != 1 {
		return nil, fmt.Errorf("%s: IDX labels need 1 dimension, got %v", name, labels.Dims)
	}
	if labels.Dims[0] != ds.N {
		return nil, fmt.Errorf("%s: %d images but %d labels", name, ds.N, labels.Dims[0])
	}
	ds.Labels = make([]int, ds.N)
	maxLabel := -1
	for i, v := range labels.Data {
		ds.Labels[i] = int(v)
		maxLabel = max(maxLabel, int(v))
	}
	ds.ClassNames = numberNames(maxLabel + 1)
	return ds, nil
}

func hwcToCHW(src []uint8, n, h, w, c int) []uint8 {
	dst := make([]uint8, len(src))
	plane := h * w
	for i := 0; i < n; i++ {
		s, d := src[i*plane*c:], dst[i*plane*c:]
		for p := 0; p < plane; p++ {
			for k := 0; k < c; k++ {
				d[k*plane+p] = s[p*c+k]
			}
		}
	}
	return dst
}

// numberNames returns "0", "1", ..., the class names of a dataset without known names.
func numberNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i)
	}
	return out
}

// OpenIDX reads an MNIST-style pair of IDX files (images: magic 0x00000803, labels:
// 0x00000801), each gzip-compressed or not. labelsPath may be "" for unlabelled images.
// Classes are "0".."k-1" for the largest label k-1; set ClassNames to name them.
func OpenIDX(imagesPath, labelsPath string) (*U8Dataset, error) {
	images, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	var labels *IDXArray
	if labelsPath != "" {
		if labels, err = ReadIDXFile(labelsPath); err != nil {
			return nil, err
		}
	}
	return IDXImages(images, labels, filepath.Base(imagesPath))
}
