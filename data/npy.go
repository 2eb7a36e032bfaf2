package data

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// NPYArray is the content of a .npy file converted to float32, with its shape and original
// dtype (e.g. "<f8", "|u1").
type NPYArray struct {
	Shape []int
	Data  []float32 // row-major (C order)
	Dtype string
}

var (
	npyDescr   = regexp.MustCompile(`['"]descr['"]\s*:\s*['"]([^'"]*)['"]`)
	npyFortran = regexp.MustCompile(`['"]fortran_order['"]\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`['"]shape['"]\s*:\s*\(([^)]*)\)`)
)

// ReadNPY reads a NumPy .npy file (format versions 1–3) of float32, float64, signed or unsigned
// integers of 1–8 bytes, or bool, little-endian and in C order, converting the values to
// float32 as they are (no scaling). Fortran order, big-endian and other dtypes are errors, as
// is a body shorter or longer than the header says. name is used in error messages.
func ReadNPY(r io.Reader, name string) (*NPYArray, error) { return readNPY(r, name, -1) }

// readNPY is ReadNPY; fileSize, when not negative, is the size of the whole file r reads. When the
// file holds exactly the body its header announces, the values are decoded straight into the
// result block by block, so reading takes the array's memory once (a 5 GB set of vectors
// otherwise passed through a byte buffer of its own size first).
func readNPY(r io.Reader, name string, fileSize int64) (*NPYArray, error) {
	br := bufio.NewReader(r)
	var pre [8]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return nil, fmt.Errorf("reading npy %s: header: %w", name, noEOF(err))
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("reading npy %s: not a .npy file (bad magic)", name)
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("reading npy %s: header: %w", name, noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("reading npy %s: header: %w", name, noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, fmt.Errorf("reading npy %s: unsupported format version %d.%d", name, pre[6], pre[7])
	}
	if hlen > 1<<20 {
		return nil, fmt.Errorf("reading npy %s: header of %d bytes", name, hlen)
	}
	headerBytes := int64(len(pre)) + int64(hlen)
	if pre[6] == 1 {
		headerBytes += 2
	} else {
		headerBytes += 4
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, fmt.Errorf("reading npy %s: header: %w", name, noEOF(err))
	}
	h := string(hb)
	m := npyDescr.FindStringSubmatch(h)
	if m == nil {
		return nil, fmt.Errorf("reading npy %s: header has no descr: %q", name, h)
	}
	a := &NPYArray{Dtype: m[1]}
	if f := npyFortran.FindStringSubmatch(h); f == nil || f[1] == "True" {
		return nil, fmt.Errorf("reading npy %s: only C-order arrays are supported (fortran_order must be False)", name)
	}
	s := npyShape.FindStringSubmatch(h)
	if s == nil {
		return nil, fmt.Errorf("reading npy %s: header has no shape: %q", name, h)
	}
	total, nonZero := int64(1), int64(1) // nonZero bounds every partial product, even with a 0 in the shape
	for _, f := range strings.Split(s[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(strings.TrimSuffix(f, "L"))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("reading npy %s: bad shape (%s)", name, s[1])
		}
		a.Shape = append(a.Shape, d)
		total *= int64(d)
		nonZero *= max(int64(d), 1)
		if nonZero > MaxArrayBytes {
			return nil, fmt.Errorf("reading npy %s: shape (%s) over the %d-element limit", name, s[1], int64(MaxArrayBytes))
		}
	}
	dt := a.Dtype
	if len(dt) < 3 {
		return nil, fmt.Errorf("reading npy %s: unsupported dtype %q", name, dt)
	}
	switch dt[0] {
	case '<', '|', '=':
	case '>':
		if dt[1:] != "u1" && dt[1:] != "i1" && dt[1:] != "b1" {
			return nil, fmt.Errorf("reading npy %s: big-endian dtype %q is not supported (save with '<' byte order)", name, dt)
		}
	default:
		return nil, fmt.Errorf("reading npy %s: unsupported dtype %q", name, dt)
	}
	size, err := strconv.Atoi(dt[2:])
	conv := npyConverter(dt[1], size)
	if err != nil || conv == nil {
		return nil, fmt.Errorf("reading npy %s: unsupported dtype %q (want float32/64, int, uint or bool)", name, dt)
	}
	nbytes := total * int64(size)
	if nbytes > MaxArrayBytes {
		return nil, fmt.Errorf("reading npy %s: shape %v of %s is over the %d-byte limit", name, a.Shape, dt, int64(MaxArrayBytes))
	}
	if fileSize >= 0 && fileSize-headerBytes == nbytes {
		a.Data = make([]float32, total)
		buf := make([]byte, (1<<16)/size*size)
		for i := 0; i < len(a.Data); {
			n := min(len(buf)/size, len(a.Data)-i)
			if _, err := io.ReadFull(br, buf[:n*size]); err != nil {
				return nil, fmt.Errorf("reading npy %s: %w", name, noEOF(err))
			}
			for j := 0; j < n; j++ {
				a.Data[i+j] = conv(buf[j*size:])
			}
			i += n
		}
		return a, nil
	}
	body, err := io.ReadAll(io.LimitReader(br, nbytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading npy %s: %w", name, err)
	}
	if int64(len(body)) != nbytes {
		what := "truncated"
		if int64(len(body)) > nbytes {
			what = "longer than its header says"
		}
		return nil, fmt.Errorf("reading npy %s: %s: shape %v of %s needs %d bytes of data, the file holds %d", name, what, a.Shape, dt, nbytes, len(body))
	}
	a.Data = make([]float32, total)
	for i := range a.Data {
		a.Data[i] = conv(body[i*size:])
	}
	return a, nil
}

// npyConverter returns a function decoding one little-endian value of the given kind and size.
func npyConverter(kind byte, size int) func([]byte) float32 {
	le := binary.LittleEndian
	switch {
	case kind == 'f' && size == 4:
		return func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) }
	case kind == 'f' && size == 8:
		return func(b []byte) float32 { return float32(math.Float64frombits(le.Uint64(b))) }
	case kind == 'i' && size == 1:
		return func(b []byte) float32 { return float32(int8(b[0])) }
	case kind == 'i' && size == 2:
		return func(b []byte) float32 { return float32(int16(le.Uint16(b))) }
	case kind == 'i' && size == 4:
		return func(b []byte) float32 { return float32(int32(le.Uint32(b))) }
	case kind == 'i' && size == 8:
		return func(b []byte) float32 { return float32(int64(le.Uint64(b))) }
	case (kind == 'u' || kind == 'b') && size == 1:
		return func(b []byte) float32 { return float32(b[0]) }
	case kind == 'u' && size == 2:
		return func(b []byte) float32 { return float32(le.Uint16(b)) }
	case kind == 'u' && size == 4:
		return func(b []byte) float32 { return float32(le.Uint32(b)) }
	case kind == 'u' && size == 8:
		return func(b []byte) float32 { return float32(le.Uint64(b)) }
	}
	return nil
}

// ReadNPYFile reads a .npy file from disk (see ReadNPY).
func ReadNPYFile(path string) (*NPYArray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return ReadNPY(f, path)
	}
	return readNPY(f, path, st.Size())
}

// WriteNPY writes a rows×cols float32 matrix (row-major, len(data) == rows*cols) as a
// version 1.0 .npy file ('<f4', C order) that numpy.load reads.
func WriteNPY(w io.Writer, data []float32, rows, cols int) error {
	if rows < 0 || cols < 0 || len(data) != rows*cols {
		return fmt.Errorf("WriteNPY: %d values for shape (%d, %d)", len(data), rows, cols)
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	// Pad with spaces and a newline so that the data starts at a multiple of 64 bytes.
	pad := 64 - (10+len(h)+1)%64
	if pad == 64 {
		pad = 0
	}
	h += strings.Repeat(" ", pad) + "\n"
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(h)))
	bw.WriteString(h)
	var b [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		if _, err := bw.Write(b[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteNPYFile writes data as a .npy file at path (see WriteNPY).
func WriteNPYFile(path string, data []float32, rows, cols int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteNPY(f, data, rows, cols); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// NPYDataset turns an array into a dataset: shape (n) gives n one-value vectors, (n, d) n
// vectors of d features, (n, h, w) one-channel images and (n, c, h, w) CHW images. An
// unsigned-byte ("|u1") array of rank 3 or 4 holds 8-bit pixels and is scaled to [0, 1];
// every other array keeps its values. labels, when not nil, is a one-dimensional array of
// non-negative integers (-1 for unlabelled samples) of length n. name prefixes sample IDs.
func NPYDataset(a *NPYArray, labels []int, name string) (Dataset, error) {
	if len(a.Shape) == 0 || len(a.Shape) > 4 {
		return nil, fmt.Errorf("%s: array of shape %v: want (n), (n, d), (n, h, w) or (n, c, h, w)", name, a.Shape)
	}
	d := &F32Dataset{N: a.Shape[0], C: 1, H: 1, W: 1, Pix: a.Data, Name: name}
	switch len(a.Shape) {
	case 2:
		d.W = a.Shape[1]
	case 3:
		d.H, d.W = a.Shape[1], a.Shape[2]
	case 4:
		d.C, d.H, d.W = a.Shape[1], a.Shape[2], a.Shape[3]
	}
	if d.N > 0 && d.C*d.H*d.W == 0 {
		return nil, fmt.Errorf("%s: array of shape %v has empty samples", name, a.Shape)
	}
	if labels != nil {
		if len(labels) != d.N {
			return nil, fmt.Errorf("%s: %d samples but %d labels", name, d.N, len(labels))
		}
		d.Labels = labels
		d.ClassNames = numberNames(maxInt(labels) + 1)
	}
	if len(a.Shape) >= 3 && strings.HasSuffix(a.Dtype, "u1") {
		u := &U8Dataset{N: d.N, C: d.C, H: d.H, W: d.W, Pix: make([]uint8, len(a.Data)), Labels: d.Labels, ClassNames: d.ClassNames, Name: name}
		for i, v := range a.Data {
			u.Pix[i] = uint8(v)
		}
		return u, nil
	}
	return d, nil
}

func maxInt(v []int) int {
	m := -1
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// intLabels converts a one-dimensional array to integer labels ≥ -1.
func intLabels(a *NPYArray, name string) ([]int, error) {
	if len(a.Shape) != 1 {
		return nil, fmt.Errorf("%s: labels must be one-dimensional, got shape %v", name, a.Shape)
	}
	out := make([]int, len(a.Data))
	for i, v := range a.Data {
		if v != float32(math.Trunc(float64(v))) || v < -1 || v > 1<<24 {
			return nil, fmt.Errorf("%s: label %d is %v, not an integer ≥ -1", name, i, v)
		}
		out[i] = int(v)
	}
	return out, nil
}

// OpenNPY reads a .npy file as a dataset (see NPYDataset). labelsPath, when not "", names a
// one-dimensional .npy of integer labels or an IDX labels file.
func OpenNPY(path, labelsPath string) (Dataset, error) {
	a, err := ReadNPYFile(path)
	if err != nil {
		return nil, err
	}
	var labels []int
	if labelsPath != "" {
		if strings.HasSuffix(strings.ToLower(labelsPath), ".npy") {
			la, err := ReadNPYFile(labelsPath)
			if err != nil {
				return nil, err
			}
			if labels, err = intLabels(la, labelsPath); err != nil {
				return nil, err
			}
		} else {
			la, err := ReadIDXFile(labelsPath)
			if err != nil {
				return nil, err
			}
			if len(la.Dims) != 1 {
				return nil, fmt.Errorf("%s: labels must be one-dimensional, got %v", labelsPath, la.Dims)
			}
			for _, v := range la.Data {
				labels = append(labels, int(v))
			}
		}
	}
	return NPYDataset(a, labels, filepath.Base(path))
}
