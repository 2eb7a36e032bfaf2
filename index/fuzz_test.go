package index

import (
	"bytes"
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
