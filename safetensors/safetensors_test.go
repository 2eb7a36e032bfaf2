package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/tensor"
)

func TestWriteReadRoundTrip(t *testing.T) {
	in := map[string]*tensor.Tensor{
		"encoder.0.weight": tensor.FromSlice([]float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.125}, 2, 3),
		"b":                tensor.FromSlice([]float32{42}),
		"scalar":           {Shape: []int{}, Data: []float32{5}},
		"empty":            tensor.New(0, 4),
	}
	var buf bytes.Buffer
	if err := WriteTyped(&buf, in, map[string]DType{"scalar": I64}, map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(buf.Bytes()); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	f, err := Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Metadata, map[string]string{"epoch": "3"}) {
		t.Errorf("metadata = %v", f.Metadata)
	}
	if f.DTypes["scalar"] != I64 || f.DTypes["b"] != F32 {
		t.Errorf("dtypes = %v", f.DTypes)
	}
	for name, want := range in {
		got := f.Tensors[name]
		if got == nil || !tensor.SameShape(got.Shape, want.Shape) || !reflect.DeepEqual(got.Data, want.Data) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	if want := []string{"b", "empty", "encoder.0.weight", "scalar"}; !reflect.DeepEqual(f.Names(), want) {
		t.Errorf("Names() = %v, want %v", f.Names(), want)
	}
	// Deterministic bytes: the same input writes the same file.
	var again bytes.Buffer
	WriteTyped(&again, in, map[string]DType{"scalar": I64}, map[string]string{"epoch": "3"})
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("writing the same tensors twice gave different bytes")
	}
	// ReadFrom gives the same result as Read.
	g, err := ReadFrom(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil || !reflect.DeepEqual(g, f) {
		t.Errorf("ReadFrom differs from Read: %v", err)
	}
}

func TestWriteRejects(t *testing.T) {
	cases := []struct {
		name    string
		tensors map[string]*tensor.Tensor
		dtypes  map[string]DType
		want    string
	}{
		{"reserved name", map[string]*tensor.Tensor{"__metadata__": tensor.New(1)}, nil, "reserved"},
		{"nil tensor", map[string]*tensor.Tensor{"a": nil}, nil, "nil"},
		{"shape and data disagree", map[string]*tensor.Tensor{"a": {Shape: []int{3}, Data: []float32{1}}}, nil, "shape [3] but 1 values"},
		{"dtype for a missing tensor", map[string]*tensor.Tensor{"a": tensor.New(1)}, map[string]DType{"b": I64}, "not among"},
		{"unwritable dtype", map[string]*tensor.Tensor{"a": tensor.New(1)}, map[string]DType{"a": F16}, "cannot write"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := WriteTyped(&bytes.Buffer{}, c.tensors, c.dtypes, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestReadPythonFiles reads files written by testdata/gen.py with numpy (not by our writer).
func TestReadPythonFiles(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "mixed.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		shape []int
		data  []float32
		dtype DType
	}{
		"f32":  {[]int{2, 3}, []float32{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5}, F32},
		"f16":  {[]int{3}, []float32{0.5, -1, 1023.0 / (1 << 24)}, F16},
		"bf16": {[]int{2}, []float32{1.5, -2.25}, BF16},
		"i64":  {[]int{}, []float32{7}, I64},
		"f64":  {[]int{2}, []float32{0.25, -8}, F64},
		"u8":   {[]int{2}, []float32{0, 255}, U8},
		"bool": {[]int{2}, []float32{1, 0}, Bool},
	}
	if len(f.Tensors) != len(want) {
		t.Errorf("read %d tensors, want %d", len(f.Tensors), len(want))
	}
	for name, w := range want {
		got := f.Tensors[name]
		if got == nil || !tensor.SameShape(got.Shape, w.shape) || !reflect.DeepEqual(got.Data, w.data) || f.DTypes[name] != w.dtype {
			t.Errorf("%s: got %v (%s), want %v %v (%s)", name, got, f.DTypes[name], w.shape, w.data, w.dtype)
		}
	}
	if !reflect.DeepEqual(f.Metadata, map[string]string{"format": "pt", "step": "12"}) {
		t.Errorf("metadata = %v", f.Metadata)
	}
	for _, name := range []string{"empty.safetensors", "zero.safetensors"} {
		if _, err := ReadFile(filepath.Join("testdata", name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ReadFile(filepath.Join("testdata", "no-such-file")); err == nil {
		t.Error("reading a missing file did not fail")
	}
}

func TestHalfToFloat32(t *testing.T) {
	cases := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 1.0 / (1 << 24)},
		{0x0400, 1.0 / (1 << 14)}, {0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := halfToFloat32(c.h); got != c.want {
			t.Errorf("halfToFloat32(%#04x) = %v, want %v", c.h, got, c.want)
		}
	}
	if v := halfToFloat32(0x7e00); !math.IsNaN(float64(v)) {
		t.Errorf("halfToFloat32(0x7e00) = %v, want NaN", v)
	}
}

// file assembles a safetensors file from a header string and a data section.
func file(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), data...)
}

func TestReadRejectsMalformedFiles(t *testing.T) {
	f32 := `"dtype":"F32"`
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"too short", []byte{1, 2, 3}, "fewer than the 8-byte"},
		{"header length past the end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "exceeds"},
		{"header length over the limit", binary.LittleEndian.AppendUint64(nil, 1<<62), "limit"},
		{"header length overflowing int", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "limit"},
		{"not an object", file(`[1,2]`, nil), "start with '{'"},
		{"empty header", file(``, nil), "start with '{'"},
		{"broken JSON", file(`{"a":`, nil), "header entry \"a\""},
		{"trailing garbage", file(`{}x`, nil), "trailing"},
		{"duplicate name", file(`{"a":{`+f32+`,"shape":[],"data_offsets":[0,4]},"a":{`+f32+`,"shape":[],"data_offsets":[0,4]}}`, make([]byte, 4)), "twice"},
		{"unknown field", file(`{"a":{`+f32+`,"shape":[],"data_offsets":[0,4],"x":1}}`, make([]byte, 4)), "unknown field"},
		{"missing shape", file(`{"a":{`+f32+`,"data_offsets":[0,4]}}`, make([]byte, 4)), "needs dtype, shape"},
		{"null offsets", file(`{"a":{`+f32+`,"shape":[],"data_offsets":null}}`, make([]byte, 4)), "needs dtype, shape"},
		{"unknown dtype", file(`{"a":{"dtype":"C64","shape":[],"data_offsets":[0,8]}}`, make([]byte, 8)), "unsupported dtype"},
		{"three offsets", file(`{"a":{`+f32+`,"shape":[],"data_offsets":[0,4,8]}}`, make([]byte, 4)), "2 values"},
		{"fractional dimension", file(`{"a":{`+f32+`,"shape":[1.5],"data_offsets":[0,4]}}`, make([]byte, 4)), "header entry"},
		{"negative dimension", file(`{"a":{`+f32+`,"shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), "negative dimension"},
		{"huge shape", file(`{"a":{`+f32+`,"shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}`, make([]byte, 4)), "more elements"},
		{"offsets past the end", file(`{"a":{`+f32+`,"shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4)), "outside"},
		{"negative offset", file(`{"a":{`+f32+`,"shape":[1],"data_offsets":[-4,0]}}`, make([]byte, 4)), "outside"},
		{"size mismatch", file(`{"a":{`+f32+`,"shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "needs 8 bytes"},
		{"overlap", file(`{"a":{`+f32+`,"shape":[2],"data_offsets":[0,8]},"b":{`+f32+`,"shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlap"},
		{"hole", file(`{"a":{`+f32+`,"shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "hole"},
		{"unindexed tail", file(`{"a":{`+f32+`,"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)), "cover 4 bytes"},
		{"metadata not strings", file(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"metadata null", file(`{"__metadata__":null}`, nil), "null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(c.file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// FuzzRead checks that Read never panics and that whatever it accepts survives a write/read
// round trip unchanged. Seeds: the testdata files and a file from our writer.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"mixed.safetensors", "empty.safetensors", "zero.safetensors"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	var buf bytes.Buffer
	Write(&buf, map[string]*tensor.Tensor{"w": tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)}, map[string]string{"k": "v"})
	f.Add(buf.Bytes())
	f.Add(file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Read(data)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Write(&out, got.Tensors, got.Metadata); err != nil {
			t.Fatalf("accepted file does not write back: %v", err)
		}
		back, err := Read(out.Bytes())
		if err != nil {
			t.Fatalf("written file does not read back: %v", err)
		}
		for name, want := range got.Tensors {
			g := back.Tensors[name]
			if g == nil || !tensor.SameShape(g.Shape, want.Shape) || len(g.Data) != len(want.Data) {
				t.Fatalf("%s changed in the round trip", name)
			}
			for i := range g.Data {
				if math.Float32bits(g.Data[i]) != math.Float32bits(want.Data[i]) {
					t.Fatalf("%s[%d] changed in the round trip", name, i)
				}
			}
		}
	})
}

// TestChecksumRefusesChangedData flips every bit of a written file's data section in turn: each
// must be refused as corrupt, while the intact file reads with its checksum verified and the
// checksum entry kept out of the metadata.
func TestChecksumRefusesChangedData(t *testing.T) {
	in := map[string]*tensor.Tensor{
		"w": tensor.FromSlice([]float32{1, -2, 3.5, 0.25}, 2, 2),
		"n": tensor.FromSlice([]float32{7}),
	}
	var buf bytes.Buffer
	if err := WriteTyped(&buf, in, map[string]DType{"n": I64}, map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	f, err := Read(good)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Checksummed || !reflect.DeepEqual(f.Metadata, map[string]string{"epoch": "3"}) {
		t.Errorf("checksummed %v, metadata %v; want true and only the caller's entries", f.Checksummed, f.Metadata)
	}
	start := 8 + int(binary.LittleEndian.Uint64(good))
	for i := start; i < len(good); i++ {
		for bit := 0; bit < 8; bit++ {
			bad := bytes.Clone(good)
			bad[i] ^= 1 << bit
			if _, err := Read(bad); err == nil || !strings.Contains(err.Error(), "does not match the checksum") {
				t.Fatalf("byte %d of the data, bit %d flipped: error %v, want a checksum mismatch", i-start, bit, err)
			}
		}
	}
	// A file whose checksum entry is not 8 hex digits is corrupt too.
	for _, v := range []string{"", "zzzzzzzz", "1234567", "123456789", "+1234567"} {
		data := file(`{"__metadata__":{"`+ChecksumKey+`":"`+v+`"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4))
		if _, err := Read(data); err == nil || !strings.Contains(err.Error(), "not 8 hex digits") {
			t.Errorf("checksum %q: error %v, want one saying it is not 8 hex digits", v, err)
		}
	}
}

// TestFilesWithoutChecksumLoad reads a file that has no checksum (as PyTorch writes them).
func TestFilesWithoutChecksumLoad(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "mixed.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Checksummed {
		t.Error("a file without a checksum reports one")
	}
	data := file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, []byte{0, 0, 0xc0, 0x7f})
	if g, err := Read(data); err != nil || g.Checksummed || !math.IsNaN(float64(g.Tensors["a"].Data[0])) {
		t.Errorf("read %v, %v; want the NaN value unverified (the format allows any float)", g, err)
	}
}
