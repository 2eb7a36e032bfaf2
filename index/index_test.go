package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var testModel = Fingerprint([]byte("model weights"))

func randomIndex(t testing.TB, n, d int, seed uint64) *Index {
	t.Helper()
	x, err := New(Meta{Model: testModel, Dim: d, Features: "h", ImageSize: 28, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	b := Batch{Vectors: make([]float32, n*d), IDs: make([]string, n), Labels: make([]int, n), Classes: []string{"cat", "dog", "bird"}}
	for i := range b.Vectors {
		b.Vectors[i] = float32(rng.NormFloat64())
	}
	for i := range b.IDs {
		b.IDs[i] = "img/" + strconv.Itoa(i) + ".png"
		b.Labels[i] = i%4 - 1
	}
	if added, skipped, err := x.Add(b); err != nil || added != n || skipped != 0 {
		t.Fatalf("Add: added %d skipped %d, %v", added, skipped, err)
	}
	return x
}

func encode(t testing.TB, x *Index) []byte {
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSaveOpenRoundTripsEverything(t *testing.T) {
	x := randomIndex(t, 50, 7, 1)
	path := filepath.Join(t.TempDir(), "a.idx")
	if err := x.Save(path); err != nil {
		t.Fatal(err)
	}
	y, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if y.Len() != 50 || y.Dim() != 7 || y.Model() != testModel || !slices.Equal(y.Meta().Classes, x.Meta().Classes) || y.Meta().ImageSize != 28 {
		t.Fatalf("round trip changed the header: %+v", y.Meta())
	}
	for i := 0; i < x.Len(); i++ {
		if y.ID(i) != x.ID(i) || y.Label(i) != x.Label(i) || y.ClassName(i) != x.ClassName(i) || !slices.Equal(y.Vector(i), x.Vector(i)) {
			t.Fatalf("row %d differs after the round trip", i)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("Save left temporary files: %v", entries)
	}
}

func TestAddNormalizesSkipsKnownIDsAndMapsClassesByName(t *testing.T) {
	x, _ := New(Meta{Model: testModel, Dim: 2, Classes: []string{"cat"}})
	if _, _, err := x.Add(Batch{Vectors: []float32{3, 4}, IDs: []string{"a"}, Labels: []int{0}, Classes: []string{"cat"}}); err != nil {
		t.Fatal(err)
	}
	if v := x.Vector(0); math.Abs(float64(v[0])-0.6) > 1e-6 || math.Abs(float64(v[1])-0.8) > 1e-6 {
		t.Errorf("vector not normalised: %v", v)
	}
	added, skipped, err := x.Add(Batch{Vectors: []float32{1, 0, 0, 1, 1, 1}, IDs: []string{"a", "b", "c"}, Labels: []int{1, 0, -1}, Classes: []string{"cat", "dog"}[1:]})
	if err == nil {
		t.Fatalf("label 1 with one class name was accepted")
	}
	added, skipped, err = x.Add(Batch{Vectors: []float32{1, 0, 0, 1, 1, 1}, IDs: []string{"a", "b", "c"}, Labels: []int{0, 0, -1}, Classes: []string{"dog"}})
	if err != nil || added != 2 || skipped != 1 {
		t.Fatalf("added %d skipped %d err %v, want 2 added and 1 skipped", added, skipped, err)
	}
	if got := x.Meta().Classes; !slices.Equal(got, []string{"cat", "dog"}) {
		t.Errorf("classes %v, want [cat dog]", got)
	}
	if x.ClassName(1) != "dog" || x.Label(2) != -1 || x.ClassName(0) != "cat" {
		t.Errorf("labels: %q %d %q", x.ClassName(1), x.Label(2), x.ClassName(0))
	}
}

func TestAddRejectsBadInputAndAddsNothing(t *testing.T) {
	for name, b := range map[string]Batch{
		"wrong length":   {Vectors: []float32{1}, IDs: []string{"a"}},
		"NaN":            {Vectors: []float32{float32(math.NaN()), 1}, IDs: []string{"a"}},
		"empty id":       {Vectors: []float32{1, 1}, IDs: []string{""}},
		"label range":    {Vectors: []float32{1, 1}, IDs: []string{"a"}, Labels: []int{0}},
		"label count":    {Vectors: []float32{1, 1}, IDs: []string{"a"}, Labels: []int{}},
		"bad class name": {Vectors: []float32{1, 1}, IDs: []string{"a"}, Labels: []int{0}, Classes: []string{""}},
	} {
		x, _ := New(Meta{Model: testModel, Dim: 2})
		if _, _, err := x.Add(b); err == nil || x.Len() != 0 || len(x.Meta().Classes) != 0 {
			t.Errorf("%s: err %v, len %d", name, err, x.Len())
		}
	}
}

func TestNewRejectsBadMeta(t *testing.T) {
	for name, m := range map[string]Meta{
		"no model":       {Dim: 3},
		"short model":    {Model: "sha256:abc", Dim: 3},
		"zero dim":       {Model: testModel},
		"huge dim":       {Model: testModel, Dim: MaxDim + 1},
		"repeated class": {Model: testModel, Dim: 3, Classes: []string{"a", "a"}},
	} {
		if _, err := New(m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// corrupt returns a copy of the file with its header replaced by edit(header).
func withHeader(t *testing.T, file []byte, edit func(h map[string]any)) []byte {
	hlen := binary.LittleEndian.Uint32(file[8:])
	var h map[string]any
	if err := jsonUnmarshal(file[12:12+hlen], &h); err != nil {
		t.Fatal(err)
	}
	edit(h)
	hb := jsonMarshal(h)
	out := append([]byte(nil), file[:12]...)
	binary.LittleEndian.PutUint32(out[8:], uint32(len(hb)))
	out = append(out, hb...)
	return append(out, file[12+hlen:]...)
}

func TestReadRejectsCorruptFilesWithClearErrors(t *testing.T) {
	x := randomIndex(t, 20, 4, 2)
	good := encode(t, x)
	if _, err := Read(bytes.NewReader(good), int64(len(good))); err != nil {
		t.Fatalf("the good file: %v", err)
	}
	hlen := int(binary.LittleEndian.Uint32(good[8:]))
	flip := func(off int) []byte { b := slices.Clone(good); b[off] ^= 0x40; return b }
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"empty", "too short", nil},
		{"magic", "wrong magic", flip(0)},
		{"truncated", "promises", good[:len(good)-1]},
		{"extra byte", "promises", append(slices.Clone(good), 0)},
		{"vector bit flip", "", flip(12 + hlen + 5)},
		{"id bit flip", "checksum", flip(len(good) - 2)},
		{"version", "format version", withHeader(t, good, func(h map[string]any) { h["format"] = 2 })},
		{"unknown field", "unknown field", withHeader(t, good, func(h map[string]any) { h["extra"] = 1 })},
		{"not normalized", "not normalized", withHeader(t, good, func(h map[string]any) { h["normalized"] = false })},
		{"huge count", "fit", withHeader(t, good, func(h map[string]any) { h["count"] = 1 << 40 })},
		{"dim", "promises", withHeader(t, good, func(h map[string]any) { h["dim"] = 5 })},
		{"model", "fingerprint", withHeader(t, good, func(h map[string]any) { h["model"] = "md5:x" })},
		{"classes", "label", withHeader(t, good, func(h map[string]any) { h["classes"] = []string{"one"} })},
		{"header length", "header length", func() []byte { b := slices.Clone(good); binary.LittleEndian.PutUint32(b[8:], 1<<30); return b }()},
	}
	for _, c := range cases {
		_, err := Read(bytes.NewReader(c.file), int64(len(c.file)))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want ErrFormat mentioning %q", c.name, err, c.want)
		}
	}
}

func bruteForce(x *Index, q []float32, k int) []Hit {
	qq := slices.Clone(q)
	Normalize(qq)
	hits := make([]Hit, x.Len())
	for i := range hits {
		var s float32
		for j, v := range x.Vector(i) {
			s += v * qq[j]
		}
		hits[i] = Hit{Row: i, Score: s}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].Score > hits[b].Score })
	return hits[:min(k, len(hits))]
}

func TestSearchMatchesBruteForce(t *testing.T) {
	for _, n := range []int{1, 5, blockRows - 1, blockRows*3 + 17} {
		x := randomIndex(t, n, 16, uint64(n))
		rng := rand.New(rand.NewPCG(9, 9))
		q := make([]float32, 5*16)
		for i := range q {
			q[i] = float32(rng.NormFloat64())
		}
		for _, k := range []int{1, 10, n + 5} {
			got, err := x.Search(q, k)
			if err != nil {
				t.Fatal(err)
			}
			for qi := 0; qi < 5; qi++ {
				want := bruteForce(x, q[qi*16:(qi+1)*16], k)
				if len(got[qi]) != len(want) {
					t.Fatalf("n=%d k=%d: %d hits, want %d", n, k, len(got[qi]), len(want))
				}
				for j := range want {
					if math.Abs(float64(got[qi][j].Score-want[j].Score)) > 1e-4 {
						t.Fatalf("n=%d k=%d query %d hit %d: score %v, want %v", n, k, qi, j, got[qi][j], want[j])
					}
				}
			}
		}
	}
}

func TestSearchBreaksTiesByRowAndFindsItself(t *testing.T) {
	x, _ := New(Meta{Model: testModel, Dim: 2})
	var b Batch
	for i := 0; i < 10000; i++ {
		b.Vectors = append(b.Vectors, 1, 0)
		b.IDs = append(b.IDs, strconv.Itoa(i))
	}
	b.Vectors[2*7777], b.Vectors[2*7777+1] = 0, 1
	x.Add(b)
	hits, err := x.Search([]float32{1, 0, 0, 2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r := []int{hits[0][0].Row, hits[0][1].Row, hits[0][2].Row}; !slices.Equal(r, []int{0, 1, 2}) {
		t.Errorf("tied rows %v, want [0 1 2]", r)
	}
	if hits[1][0].Row != 7777 || math.Abs(float64(hits[1][0].Score)-1) > 1e-6 {
		t.Errorf("best hit of row 7777's vector: %+v", hits[1][0])
	}
}

func TestSearchRejectsBadQueries(t *testing.T) {
	x := randomIndex(t, 10, 4, 3)
	for name, c := range map[string]struct {
		q []float32
		k int
	}{
		"wrong dim": {make([]float32, 5), 1},
		"empty":     {nil, 1},
		"k zero":    {make([]float32, 4), 0},
		"NaN":       {[]float32{1, float32(math.NaN()), 0, 0}, 1},
		"Inf":       {[]float32{1, float32(math.Inf(1)), 0, 0}, 1},
	} {
		if _, err := x.Search(c.q, c.k); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	empty, _ := New(Meta{Model: testModel, Dim: 4})
	if hits, err := empty.Search(make([]float32, 4), 3); err != nil || len(hits[0]) != 0 {
		t.Errorf("empty index: %v, %v", hits, err)
	}
}
