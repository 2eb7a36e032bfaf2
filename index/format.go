package index

// The on-disk format (version 1) is one file, every integer little-endian:
//
//	offset 0   8 bytes    magic "CTRIDX\r\n"
//	offset 8   uint32     H, the length of the JSON header (at most MaxHeaderBytes)
//	offset 12  H bytes    JSON header (Header: format, model, dim, count, normalized, ...),
//	                      padded with spaces so that the vectors start at a multiple of 64
//	           count·dim  float32 vectors, row-major, each of unit L2 norm (or all zero)
//	           count      int32 labels: -1 (unknown) or an index into the header's classes
//	           id_bytes   count ids, each a uint32 byte length followed by that many UTF-8 bytes
//
// The header's crc32c is the CRC-32C (Castagnoli) of everything after the header. The file size
// must equal exactly 12 + H + 4·count·dim + 4·count + id_bytes; Read checks this before it
// allocates anything, so a corrupt or hostile header cannot make it allocate more than the file
// holds. Save writes a temporary file in the same directory, fsyncs it and renames it over the
// old one, so a crash leaves either the old index or the new one.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"unicode/utf8"
	"unsafe"

	"github.com/contrastive-go/contrastive/internal/atomicfile"
)

// Magic starts every index file.
const Magic = "CTRIDX\r\n"

// FormatVersion is the version of the format that Save writes for an exact index; an index with
// an approximate (HNSW) section is FormatANN. Read accepts both.
const (
	FormatVersion = 1
	FormatANN     = 2
)

// MaxHeaderBytes bounds the JSON header.
const MaxHeaderBytes = 16 << 20

// Header is the JSON header of an index file.
type Header struct {
	Format     int  `json:"format"`
	Count      int  `json:"count"`
	Normalized bool `json:"normalized"`
	Meta
	IDBytes int64      `json:"id_bytes"`
	ANN     *ANNHeader `json:"ann,omitempty"`
	// LogSeq is the sequence number of the last update-log record folded into this file (see
	// log.go): records up to it are not replayed.
	LogSeq uint64 `json:"log_seq,omitempty"`
	CRC32C uint32 `json:"crc32c"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// f32Bytes views v as its bytes in memory.
func f32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func u32Bytes(v []uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func i32Bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// Open reads the index file at path, validating it strictly (see Read).
func Open(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening index: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("opening index: %s is not a regular file", path)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	x, err := readIndex(br, st.Size(), mapVectors(f, st.Size(), br))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	return x, nil
}

// ErrFormat is wrapped by every error Read returns about the contents of a file.
var ErrFormat = errors.New("not a valid index file")

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, a...))
}

// Read decodes an index of exactly size bytes from r. It checks the magic, the header's fields,
// that size matches the header's counts (before allocating), that every vector is finite and of
// unit norm (or zero), every label is -1 or a valid class index, every id is non-empty, unique,
// at most MaxIDBytes of UTF-8, and the CRC-32C.
func Read(r io.Reader, size int64) (*Index, error) { return readIndex(r, size, nil) }

// readIndex is Read, taking the vectors from src when it provides them.
func readIndex(r io.Reader, size int64, src vectorSource) (*Index, error) {
	var pre [12]byte
	if size < int64(len(pre)) {
		return nil, bad("%d bytes is too short", size)
	}
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, bad("reading the preamble: %v", err)
	}
	if string(pre[:8]) != Magic {
		return nil, bad("wrong magic %q (want %q)", pre[:8], Magic)
	}
	hlen := int64(binary.LittleEndian.Uint32(pre[8:]))
	if hlen > MaxHeaderBytes || hlen > size-12 {
		return nil, bad("header length %d is over the limit or the file size", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, bad("reading the header: %v", err)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(hb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, bad("header: %v", err)
	}
	if dec.More() {
		return nil, bad("header: data after the JSON object")
	}
	if h.Format != FormatVersion && h.Format != FormatANN || (h.Format == FormatANN) != (h.ANN != nil) {
		return nil, bad("format version %d (this program reads versions %d and %d, the latter with an \"ann\" section)", h.Format, FormatVersion, FormatANN)
	}
	if !h.Normalized {
		return nil, bad("header says the vectors are not normalized")
	}
	if err := h.Meta.check(); err != nil {
		return nil, bad("header: %v", err)
	}
	if h.Count < 0 || h.IDBytes < 0 {
		return nil, bad("negative count %d or id_bytes %d", h.Count, h.IDBytes)
	}
	body := size - 12 - hlen
	count, dim := int64(h.Count), int64(h.Meta.Dim)
	if count > body/4 || count*dim > body/4 {
		return nil, bad("count %d × dim %d does not fit in %d bytes", count, dim, body)
	}
	var annBytes int64
	if h.ANN != nil {
		if err := checkANNHeader(h.ANN, int(count), int(dim)); err != nil {
			return nil, err
		}
		annBytes = h.ANN.Bytes
	}
	if h.IDBytes > body || annBytes > body {
		return nil, bad("id_bytes %d or ann bytes %d is over the %d bytes after the header", h.IDBytes, annBytes, body)
	}
	if want := 4*count*dim + 4*count + h.IDBytes + annBytes; want != body || h.IDBytes < 4*count {
		return nil, bad("the header promises %d bytes after it (count %d, dim %d, id_bytes %d, ann bytes %d) but the file has %d", want, count, dim, h.IDBytes, annBytes, body)
	}
	crc := crc32.New(castagnoli)
	tr := io.TeeReader(r, crc)
	x := &Index{meta: h.Meta, labels: make([]int32, count), ids: make([]string, count), logSeq: h.LogSeq, crc: h.CRC32C}
	if src != nil {
		v, m, err := src(&h, 12+hlen)
		if err != nil {
			return nil, err
		}
		if v != nil {
			x.vectors, x.mapped = v, m
			crc.Write(f32Bytes(v))
		}
	}
	if x.vectors == nil {
		x.vectors = make([]float32, count*dim)
		adviseHuge(x.vectors)
		if err := readF32(tr, x.vectors); err != nil {
			return nil, bad("reading the vectors: %v", err)
		}
	}
	if err := readI32(tr, x.labels); err != nil {
		return nil, bad("reading the labels: %v", err)
	}
	d := int(dim)
	for i := 0; i < int(count); i++ {
		row := x.vectors[i*d : (i+1)*d]
		var s float64
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		if math.IsNaN(s) || math.IsInf(s, 0) || (s != 0 && math.Abs(s-1) > 1e-3) {
			return nil, bad("vector %d has squared norm %g, not 1", i, s)
		}
		if l := x.labels[i]; l < -1 || int(l) >= len(h.Classes) {
			return nil, bad("vector %d has label %d but there are %d class names", i, l, len(h.Classes))
		}
	}
	left := h.IDBytes
	x.idset = make(map[string]int, count)
	var lb [4]byte
	buf := make([]byte, MaxIDBytes)
	for i := range x.ids {
		if _, err := io.ReadFull(tr, lb[:]); err != nil {
			return nil, bad("reading id %d: %v", i, err)
		}
		n := int64(binary.LittleEndian.Uint32(lb[:]))
		left -= 4
		if n == 0 || n > MaxIDBytes || n > left {
			return nil, bad("id %d has length %d (want 1 to %d, within id_bytes)", i, n, MaxIDBytes)
		}
		if _, err := io.ReadFull(tr, buf[:n]); err != nil {
			return nil, bad("reading id %d: %v", i, err)
		}
		left -= n
		if !utf8.Valid(buf[:n]) {
			return nil, bad("id %d is not UTF-8", i)
		}
		id := string(buf[:n])
		if j, dup := x.idset[id]; dup {
			return nil, bad("ids %d and %d are both %q", j, i, id)
		}
		x.idset[id] = i
		x.ids[i] = id
	}
	if left != 0 {
		return nil, bad("%d bytes of id_bytes left over after the last id", left)
	}
	if h.ANN != nil {
		vec := newChunked(d, x.vectors)
		vec.keep = x.mapped
		a, err := readANN(tr, h.ANN, int(count), d, vec)
		if err != nil {
			return nil, err
		}
		x.ann = a
	}
	if crc.Sum32() != h.CRC32C {
		return nil, bad("checksum mismatch (crc32c %08x, header says %08x): the file is corrupt", crc.Sum32(), h.CRC32C)
	}
	return x, nil
}

func readF32(r io.Reader, v []float32) error {
	if littleEndian {
		_, err := io.ReadFull(r, f32Bytes(v))
		return err
	}
	b := make([]byte, 4*len(v))
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}

func readI32(r io.Reader, v []int32) error {
	if littleEndian {
		_, err := io.ReadFull(r, i32Bytes(v))
		return err
	}
	b := make([]byte, 4*len(v))
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}

// body writes everything after the header to w.
func (x *Index) body(w io.Writer) error {
	if littleEndian {
		if _, err := w.Write(f32Bytes(x.vectors)); err != nil {
			return err
		}
		if _, err := w.Write(i32Bytes(x.labels)); err != nil {
			return err
		}
	} else {
		var b [4]byte
		for _, v := range x.vectors {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			if _, err := w.Write(b[:]); err != nil {
				return err
			}
		}
		for _, v := range x.labels {
			binary.LittleEndian.PutUint32(b[:], uint32(v))
			if _, err := w.Write(b[:]); err != nil {
				return err
			}
		}
	}
	var b [4]byte
	for _, id := range x.ids {
		binary.LittleEndian.PutUint32(b[:], uint32(len(id)))
		if _, err := w.Write(b[:]); err != nil {
			return err
		}
		if _, err := io.WriteString(w, id); err != nil {
			return err
		}
	}
	if x.ann != nil {
		return x.ann.write(w, len(x.ids))
	}
	return nil
}

// header computes the header, including the checksum of the body.
func (x *Index) header() Header {
	h := Header{Format: FormatVersion, Count: len(x.ids), Normalized: true, Meta: x.meta, LogSeq: x.logSeq}
	if x.ann != nil {
		h.Format = FormatANN
		h.ANN = x.ann.header(len(x.ids), x.meta.Dim)
	}
	for _, id := range x.ids {
		h.IDBytes += 4 + int64(len(id))
	}
	crc := crc32.New(castagnoli)
	x.body(crc) // a hash never fails
	h.CRC32C = crc.Sum32()
	return h
}

// WriteTo writes the index in the file format to w.
func (x *Index) WriteTo(w io.Writer) (int64, error) {
	h := x.header()
	x.crc = h.CRC32C
	hb, err := json.Marshal(h)
	if err != nil {
		return 0, err
	}
	// Spaces after the JSON place the vectors at a multiple of vectorAlign (see mapped.go).
	if r := (12 + len(hb)) % vectorAlign; r != 0 {
		hb = append(hb, bytes.Repeat([]byte{' '}, vectorAlign-r)...)
	}
	x.vecOff = int64(12 + len(hb))
	cw := &countWriter{w: w}
	var pre [12]byte
	copy(pre[:], Magic)
	binary.LittleEndian.PutUint32(pre[8:], uint32(len(hb)))
	if _, err := cw.Write(pre[:]); err != nil {
		return cw.n, err
	}
	if _, err := cw.Write(hb); err != nil {
		return cw.n, err
	}
	err = x.body(cw)
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Save writes the index to path atomically: a temporary file in the same directory, fsynced,
// then renamed over path, then the directory fsynced.
func (x *Index) Save(path string) error {
	return atomicfile.Write(path, "index", func(w io.Writer) error {
		_, err := x.WriteTo(w)
		return err
	})
}
