package index

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestSQ8VectorsAreMappedFromTheFile: an sq8 index opens with its vectors mapped (a none or
// exact one with them in memory), answers exactly as the in-memory index does, keeps them
// mapped across adds and a compaction, and the map goes away with the last reference. A file
// whose vectors are not aligned (written before the padding) opens with them in memory.
func TestSQ8VectorsAreMappedFromTheFile(t *testing.T) {
	const n, d = 3000, 32
	for _, c := range []struct {
		kind, quant string
		mapped      bool
	}{{KindHNSW, QuantizeSQ8, true}, {KindHNSW, QuantizeNone, false}, {KindExact, QuantizeNone, false}} {
		path, v := storeFile(t, n, d, c.kind, c.quant)
		if raw, _ := os.ReadFile(path); (12+binary.LittleEndian.Uint32(raw[8:]))%vectorAlign != 0 {
			t.Fatalf("%s/%s: the vectors start at %d, not a multiple of %d", c.kind, c.quant, 12+binary.LittleEndian.Uint32(raw[8:]), vectorAlign)
		}
		x, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if x.Mapped() != c.mapped {
			t.Fatalf("%s/%s: Mapped() = %v", c.kind, c.quant, x.Mapped())
		}
		if !slices.Equal(x.vectors, v) {
			t.Fatalf("%s/%s: the vectors read differ from those saved", c.kind, c.quant)
		}
		s, err := OpenStore(path, StoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mem := NewMemStore(x, StoreOptions{})
		if st := s.Stats(); st.Mapped != c.mapped || c.mapped && st.MappedBytesPerVector != 4*d {
			t.Fatalf("%s/%s: stats %+v", c.kind, c.quant, st)
		}
		for i := 0; i < 50; i++ {
			q := v[i*37*d : (i*37+1)*d]
			a, err := s.Search(q, 10, SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := mem.Search(q, 10, SearchOptions{})
			if !slices.Equal(ids(a[0]), ids(b[0])) || a[0][0].ID != ids([]Result{{ID: "v" + itoa(i*37)}})[0] {
				t.Fatalf("%s/%s: query %d: file %v, memory %v", c.kind, c.quant, i, ids(a[0]), ids(b[0]))
			}
		}
		extra := clustered(10, d, 3, 0.4, 99)
		add := Batch{Vectors: extra, IDs: make([]string, 10)}
		for i := range add.IDs {
			add.IDs[i] = "extra" + itoa(i)
		}
		if _, err := s.Add(add); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Delete([]string{"v0"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Compact(); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Mapped != c.mapped || st.Items != n+9 {
			t.Fatalf("%s/%s: after compaction: stats %+v", c.kind, c.quant, st)
		}
		for i := 0; i < 10; i++ {
			r, _ := s.Search(extra[i*d:(i+1)*d], 1, SearchOptions{})
			if r[0][0].ID != add.IDs[i] {
				t.Fatalf("%s/%s: after compaction: added %s found as %s", c.kind, c.quant, add.IDs[i], r[0][0].ID)
			}
		}
		s.Close()
	}
	// The maps of the stores above are unreachable now.
	deadline := time.Now().Add(5 * time.Second)
	for unmapped.Load() < 2 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := unmapped.Load(); got < 2 {
		t.Errorf("%d maps removed after the stores were dropped, want at least 2 (the file's, the compacted file's)", got)
	}

	// An sq8 file with its header unpadded (vectors at an odd offset): read into memory.
	path, v := storeFile(t, n, d, KindHNSW, QuantizeSQ8)
	raw, _ := os.ReadFile(path)
	hlen := binary.LittleEndian.Uint32(raw[8:])
	hb := bytes.TrimRight(raw[12:12+hlen], " ")
	if len(hb) == int(hlen) || (12+len(hb))%4 == 0 {
		hb = append(hb, ' ') // make the offset odd whatever the JSON's length
	}
	old := binary.LittleEndian.AppendUint32([]byte(Magic), uint32(len(hb)))
	old = append(append(old, hb...), raw[12+hlen:]...)
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if x.Mapped() || !slices.Equal(x.vectors, v) {
		t.Fatalf("unaligned sq8 file: Mapped() = %v, vectors equal: %v", x.Mapped(), slices.Equal(x.vectors, v))
	}
}
