package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
)

// parseHeader decodes the header JSON strictly: a single object, no duplicate names, known fields
// only, every field present, known dtypes, non-negative dimensions whose product fits.
func parseHeader(header []byte) ([]named, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: header is not valid JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("safetensors: header is not a JSON object")
	}
	seen := map[string]bool{}
	meta := map[string]string{}
	var entries []named
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: header is not valid JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("safetensors: header key %v is not a string", tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("safetensors: header names %q twice", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("safetensors: header entry %q: %w", name, err)
		}
		if name == metadataKey {
			if err := strictUnmarshal(raw, &meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: %s must map strings to strings: %w", metadataKey, err)
			}
			if meta == nil {
				return nil, nil, fmt.Errorf("safetensors: %s is null, not a string map", metadataKey)
			}
			continue
		}
		var e struct {
			DType       *DType   `json:"dtype"`
			Shape       *[]int64 `json:"shape"`
			DataOffsets *[]int64 `json:"data_offsets"`
		}
		if err := strictUnmarshal(raw, &e); err != nil {
			return nil, nil, fmt.Errorf("safetensors: header entry %q: %w", name, err)
		}
		if e.DType == nil || e.Shape == nil || e.DataOffsets == nil || *e.Shape == nil || *e.DataOffsets == nil {
			return nil, nil, fmt.Errorf("safetensors: header entry %q needs dtype, shape and data_offsets", name)
		}
		if e.DType.Size() == 0 {
			return nil, nil, fmt.Errorf("safetensors: tensor %q has unsupported dtype %q", name, *e.DType)
		}
		if len(*e.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: data_offsets must have 2 values, has %d", name, len(*e.DataOffsets))
		}
		entries = append(entries, named{entry{*e.DType, *e.Shape, *e.DataOffsets}, name})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, fmt.Errorf("safetensors: header is not valid JSON: %w", err)
	}
	if rest := bytes.TrimRight(header[dec.InputOffset():], " \t\r\n"); len(rest) != 0 {
		return nil, nil, fmt.Errorf("safetensors: %d bytes of trailing data after the header object", len(rest))
	}
	return entries, meta, nil
}

// strictUnmarshal decodes raw into v, refusing unknown fields and trailing data.
func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// checkLayout verifies each tensor's byte range matches its shape and dtype and that the ranges
// tile the data section exactly: no overlaps, no holes, nothing past the end.
func checkLayout(entries []named, size int64) error {
	for _, e := range entries {
		n, err := numel(e.Shape, size)
		if err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", e.name, err)
		}
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || end < b || end > size {
			return fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] outside the %d-byte data section", e.name, b, end, size)
		}
		if want := n * int64(e.DType.Size()); end-b != want {
			return fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, data_offsets [%d, %d] give %d",
				e.name, e.Shape, e.DType, want, b, end, end-b)
		}
	}
	sorted := append([]named(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i].DataOffsets, sorted[j].DataOffsets
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		return a[1] < b[1]
	})
	var pos int64
	for _, e := range sorted {
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if b < pos {
			return fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] overlap an earlier tensor (ending at %d)", e.name, b, end, pos)
		}
		if b > pos {
			return fmt.Errorf("safetensors: tensor %q: hole of %d bytes before data_offsets [%d, %d]", e.name, b-pos, b, end)
		}
		pos = end
	}
	if pos != size {
		return fmt.Errorf("safetensors: tensors cover %d bytes but the data section has %d", pos, size)
	}
	return nil
}

// numel returns the number of elements of shape, failing on negative dimensions and on shapes
// with more elements than the size-byte data section could hold (which also rules out overflow).
func numel(shape []int64, size int64) (int64, error) {
	zero := false
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		zero = zero || d == 0
	}
	if zero {
		return 0, nil
	}
	n := int64(1)
	for _, d := range shape {
		if n > size/d {
			return 0, fmt.Errorf("shape %v has more elements than the %d-byte data section", shape, size)
		}
		n *= d
	}
	return n, nil
}

// decode converts little-endian raw data of dtype d to float32.
func decode(d DType, raw []byte) []float32 {
	n := len(raw) / d.Size()
	out := make([]float32, n)
	le := binary.LittleEndian
	for i := range out {
		switch d {
		case F32:
			out[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		case F64:
			out[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		case F16:
			out[i] = halfToFloat32(le.Uint16(raw[2*i:]))
		case BF16:
			out[i] = math.Float32frombits(uint32(le.Uint16(raw[2*i:])) << 16)
		case I64:
			out[i] = float32(int64(le.Uint64(raw[8*i:])))
		case I32:
			out[i] = float32(int32(le.Uint32(raw[4*i:])))
		case I16:
			out[i] = float32(int16(le.Uint16(raw[2*i:])))
		case I8:
			out[i] = float32(int8(raw[i]))
		case U8:
			out[i] = float32(raw[i])
		case Bool:
			if raw[i] != 0 {
				out[i] = 1
			}
		}
	}
	return out
}

// halfToFloat32 converts an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: value = mant · 2^-24.
	v := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}
