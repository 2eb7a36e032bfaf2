package index

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func jsonMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzRead checks that Read never panics and never accepts a file it cannot write back
// identically.
func FuzzRead(f *testing.F) {
	f.Add(encode(f, randomIndex(f, 3, 2, 1)))
	empty, _ := New(Meta{Model: testModel, Dim: 1})
	f.Add(encode(f, empty))
	f.Add([]byte(Magic + "\x02\x00\x00\x00{}"))
	for _, q := range []string{QuantizeNone, QuantizeSQ8} {
		x := randomIndex(f, 40, 4, 2)
		if _, _, err := x.BuildANN(ANNOptions{Kind: KindHNSW, M: 2, EfConstruction: 8, Quantize: q}); err != nil {
			f.Fatal(err)
		}
		f.Add(encode(f, x))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		again := encode(t, x)
		y, err := Read(bytes.NewReader(again), int64(len(again)))
		if err != nil {
			t.Fatalf("re-encoded index does not read back: %v", err)
		}
		if y.Len() != x.Len() || y.Dim() != x.Dim() {
			t.Fatalf("re-encoded index differs")
		}
	})
}

// FuzzReadLog checks that reading an update log never panics, that what it accepts re-encodes
// to the same bytes, and that a bad record is either the torn tail or an error.
func FuzzReadLog(f *testing.F) {
	hdr := encodeLogHeader(LogHeader{Format: 1, Dim: 2, BaseCRC32: 7, FirstSeq: 1})
	good := append([]byte(nil), hdr...)
	for _, r := range []logRecord{{kind: recAdd, seq: 1, id: "a", class: "c", vector: []float32{0.6, 0.8}}, {kind: recDelete, seq: 2, id: "a"}, {kind: recAdd, seq: 3, id: "b", vector: []float32{1, 0}}} {
		good = r.appendTo(good)
	}
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(hdr)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := readLog(bytes.NewReader(b), int64(len(b)), 2)
		if err != nil {
			return
		}
		if c.good+c.torn != int64(len(b)) {
			t.Fatalf("good %d + torn %d bytes != %d", c.good, c.torn, len(b))
		}
		hl := 12 + int(binary.LittleEndian.Uint32(b[8:])) + 4
		var again []byte
		for _, r := range c.records {
			again = r.appendTo(again)
		}
		if !bytes.Equal(again, b[hl:c.good]) {
			t.Fatalf("the accepted records do not re-encode to the bytes they came from")
		}
	})
}
