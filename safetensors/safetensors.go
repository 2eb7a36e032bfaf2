// Package safetensors reads and writes the safetensors format used by Hugging Face and PyTorch
// users to store named tensors without pickle:
//
//	8 bytes      N, the header length, unsigned little-endian
//	N bytes      a JSON object {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
//	             with an optional "__metadata__": {string: string} entry; may end in spaces
//	rest         the raw little-endian data; offsets are relative to its start
//
// Tensors are float32 in this toolkit. Write stores F32 (or, per tensor, I64/I32/F64 for buffers
// such as BatchNorm's num_batches_tracked that PyTorch keeps as integers). Read accepts F32, F64,
// F16, BF16, I64, I32, I16, I8, U8 and BOOL and converts every tensor to float32.
//
// Read validates strictly and returns an error (never panics) when the header length is out of
// bounds, the JSON is malformed or has duplicate or unknown fields, a dtype is unknown, a shape's
// size disagrees with its byte range, or the byte ranges overlap, leave holes or leave the file.
//
// Write also stores a checksum of the data section (every tensor's bytes) in the metadata, under
// ChecksumKey: the CRC-32 (IEEE, as Python's zlib.crc32) of the bytes after the header, as 8 hex
// digits. Metadata is a plain string map, so PyTorch's safetensors loaders read our files as
// before. Read verifies the checksum when the file has one and refuses a file whose tensor
// bytes changed (a flipped bit, a torn copy); files without it (written by PyTorch, numpy or
// older versions) load unverified.
//
//	var buf bytes.Buffer
//	err := safetensors.Write(&buf, map[string]*tensor.Tensor{"w": w}, map[string]string{"step": "10"})
//	f, err := safetensors.Read(buf.Bytes()) // f.Tensors["w"], f.Metadata["step"]
package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/contrastive-go/contrastive/tensor"
)

// MaxHeaderSize bounds the JSON header (100 MB, as the reference Rust implementation).
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header entry holding the string-to-string metadata.
const metadataKey = "__metadata__"

// ChecksumKey is the metadata entry in which Write stores the CRC-32 (IEEE polynomial, the one of
// Python's zlib.crc32) of the data section, as 8 lowercase hex digits. Verify a file in Python:
//
//	n = struct.unpack("<Q", b[:8])[0]
//	meta = json.loads(b[8:8+n]).get("__metadata__", {})
//	assert "%08x" % zlib.crc32(b[8+n:]) == meta["data_crc32"]
const ChecksumKey = "data_crc32"

// DType names an element type as written in the header.
type DType string

// The element types this package knows.
const (
	F32  DType = "F32"
	F64  DType = "F64"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size returns the number of bytes per element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// File is the decoded content of a safetensors file.
type File struct {
	// Tensors maps each name to its values converted to float32.
	Tensors map[string]*tensor.Tensor
	// DTypes records each tensor's stored element type.
	DTypes map[string]DType
	// Metadata is the "__metadata__" map without the ChecksumKey entry; empty (not nil) when the
	// file has none.
	Metadata map[string]string
	// Checksummed reports that the file carried a data checksum (ChecksumKey), which matched.
	Checksummed bool
}

// Names returns the tensor names in sorted order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// entry is one tensor's header record.
type entry struct {
	DType       DType   `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Write stores tensors as F32 with the given metadata (nil for none). Tensors are laid out in
// sorted name order, so the same input always gives the same bytes.
func Write(w io.Writer, tensors map[string]*tensor.Tensor, meta map[string]string) error {
	return WriteTyped(w, tensors, nil, meta)
}

// WriteTyped is Write with a per-tensor element type: dtypes maps a name to F32 (the default for
// names it lacks), F64, I64 or I32. Integer types round each value to the nearest integer. The
// data checksum goes into the metadata under ChecksumKey (replacing any value meta gives it).
func WriteTyped(w io.Writer, tensors map[string]*tensor.Tensor, dtypes map[string]DType, meta map[string]string) error {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		if n == metadataKey {
			return fmt.Errorf("safetensors: %q is reserved and cannot name a tensor", metadataKey)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for n := range dtypes {
		if _, ok := tensors[n]; !ok {
			return fmt.Errorf("safetensors: dtype given for %q, which is not among the tensors", n)
		}
	}
	header := make(map[string]any, len(names)+1)
	var offset int64
	kinds := make([]DType, len(names))
	for i, n := range names {
		t := tensors[n]
		if t == nil {
			return fmt.Errorf("safetensors: tensor %q is nil", n)
		}
		if tensor.Numel(t.Shape) != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q has shape %v but %d values", n, t.Shape, len(t.Data))
		}
		d := dtypes[n]
		switch d {
		case "":
			d = F32
		case F32, F64, I64, I32:
		default:
			return fmt.Errorf("safetensors: cannot write tensor %q as %s (F32, F64, I64 or I32)", n, d)
		}
		kinds[i] = d
		shape := make([]int64, len(t.Shape))
		for j, s := range t.Shape {
			shape[j] = int64(s)
		}
		size := int64(len(t.Data)) * int64(d.Size())
		header[n] = entry{DType: d, Shape: shape, DataOffsets: []int64{offset, offset + size}}
		offset += size
	}
	// The data is encoded twice, once for its checksum (which the header holds) and once to write
	// it, rather than held in memory whole.
	sum := crc32.NewIEEE()
	encodeData(names, kinds, tensors, func(b []byte) error { sum.Write(b); return nil })
	all := make(map[string]string, len(meta)+1)
	for k, v := range meta {
		all[k] = v
	}
	all[ChecksumKey] = fmt.Sprintf("%08x", sum.Sum32())
	header[metadataKey] = all
	js, err := json.Marshal(header) // encoding/json sorts map keys
	if err != nil {
		return fmt.Errorf("safetensors: encoding header: %w", err)
	}
	// Pad with spaces so the data starts 8-byte aligned, as the Python writer does.
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(js)))
	bw.Write(lenBuf[:])
	bw.Write(js)
	if err := encodeData(names, kinds, tensors, func(b []byte) error { _, err := bw.Write(b); return err }); err != nil {
		return fmt.Errorf("safetensors: writing data: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: writing: %w", err)
	}
	return nil
}

// encodeData hands the little-endian bytes of the named tensors, in order and as kinds says, to
// emit in chunks of up to 64 KiB.
func encodeData(names []string, kinds []DType, tensors map[string]*tensor.Tensor, emit func([]byte) error) error {
	buf := make([]byte, 0, 1<<16)
	for i, n := range names {
		d := kinds[i]
		for _, v := range tensors[n].Data {
			switch d {
			case F32:
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			case F64:
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(float64(v)))
			case I64:
				buf = binary.LittleEndian.AppendUint64(buf, uint64(int64(math.Round(float64(v)))))
			case I32:
				buf = binary.LittleEndian.AppendUint32(buf, uint32(int32(math.Round(float64(v)))))
			}
			if len(buf) > cap(buf)-8 {
				if err := emit(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		return emit(buf)
	}
	return nil
}

// ReadFile reads and decodes the safetensors file at path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Read(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return f, nil
}

// ReadFrom decodes a safetensors file of the given size from r.
func ReadFrom(r io.ReaderAt, size int64) (*File, error) {
	if size < 8 {
		return nil, fmt.Errorf("safetensors: file has %d bytes, fewer than the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize || n > uint64(size-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the file (%d bytes) or the %d-byte limit", n, size, MaxHeaderSize)
	}
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("safetensors: reading: %w", err)
	}
	return Read(data)
}

// Read decodes a whole safetensors file held in data. The returned tensors do not alias data.
func Read(data []byte) (*File, error) {
	header, body, err := splitHeader(data)
	if err != nil {
		return nil, err
	}
	entries, meta, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	if err := checkLayout(entries, int64(len(body))); err != nil {
		return nil, err
	}
	checked, err := verifyChecksum(meta, body)
	if err != nil {
		return nil, err
	}
	f := &File{
		Checksummed: checked,
		Tensors:     make(map[string]*tensor.Tensor, len(entries)),
		DTypes:      make(map[string]DType, len(entries)),
		Metadata:    meta,
	}
	for _, e := range entries {
		shape := make([]int, len(e.Shape))
		for i, s := range e.Shape {
			shape[i] = int(s)
		}
		raw := body[e.DataOffsets[0]:e.DataOffsets[1]]
		f.Tensors[e.name] = &tensor.Tensor{Shape: shape, Data: decode(e.DType, raw)}
		f.DTypes[e.name] = e.DType
	}
	return f, nil
}

// verifyChecksum checks the data section against the ChecksumKey metadata entry, if there is one,
// and removes the entry from meta. It reports whether there was one.
func verifyChecksum(meta map[string]string, body []byte) (bool, error) {
	stored, ok := meta[ChecksumKey]
	if !ok {
		return false, nil
	}
	want, err := strconv.ParseUint(stored, 16, 32)
	if err != nil || len(stored) != 8 {
		return false, fmt.Errorf("safetensors: metadata %s is %q, not 8 hex digits: the file is corrupt", ChecksumKey, stored)
	}
	if got := crc32.ChecksumIEEE(body); got != uint32(want) {
		return false, fmt.Errorf("safetensors: the tensor data does not match the checksum in its metadata (%s %s, the data gives %08x): the file is corrupt", ChecksumKey, stored, got)
	}
	delete(meta, ChecksumKey)
	return true, nil
}

// splitHeader checks the length prefix and returns the header JSON and the data section.
func splitHeader(data []byte) (header, body []byte, err error) {
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("safetensors: file has %d bytes, fewer than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > MaxHeaderSize {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds the %d bytes after the length prefix", n, len(data)-8)
	}
	header = data[8 : 8+n]
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, fmt.Errorf("safetensors: header does not start with '{'")
	}
	return header, data[8+n:], nil
}

// named is a header entry with its name.
type named struct {
	entry
	name string
}
