// Package index stores embedded collections on disk and answers exact cosine top-k queries over
// them: the memory a similarity-search service serves from.
//
// An Index holds N vectors of dimension D, each L2-normalised when added, with a string id and a
// label per vector (-1 when unknown) and the class names the labels index. Its header records the
// fingerprint of the model that made the vectors (FingerprintFile: "sha256:" and the hex SHA-256 of
// the model's weights file), so that vectors of different models are never mixed or compared.
//
// Search scores queries against every stored vector with one GEMM per block of rows
// (blas.Sgemm: scores = Q·Xᵀ, cosine because both sides are unit length) and keeps the best k
// per query in a bounded heap; blocks are spread over GOMAXPROCS goroutines.
//
//	x, err := index.Open("photos.idx")
//	hits, err := x.Search(query, 10) // query: [q×D] row-major
//	for _, h := range hits[0] { fmt.Println(x.ID(h.Row), h.Score, x.ClassName(h.Row)) }
//
// The file format is described in format.go.
package index

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/contrastive-go/contrastive/internal/vec"
)

// Limits on what an index may hold, checked on Add and on load.
const (
	MaxDim     = 1 << 16 // vector dimension
	MaxIDBytes = 4096    // bytes in one id
	MaxClasses = 1 << 20 // class names
)

// Meta describes the vectors of an index: everything in its header but the counts.
type Meta struct {
	// Model is the fingerprint of the model that produced the vectors ("sha256:<hex>").
	Model string `json:"model"`
	// Dim is the vector dimension.
	Dim int `json:"dim"`
	// Features says which output of the model the vectors are: "h" (the encoder's
	// representation) or "z" (the projection).
	Features string `json:"features,omitempty"`
	// ImageSize and Channels are the input the model was given (side of the square image and
	// number of channels), so that a query image can be prepared the same way.
	ImageSize int `json:"image_size,omitempty"`
	Channels  int `json:"channels,omitempty"`
	// Classes names the labels: label i is Classes[i].
	Classes []string `json:"classes,omitempty"`
}

// Index is an in-memory collection of unit vectors with ids and labels. Search, Len and the
// accessors are safe for concurrent use; Add is not safe concurrently with anything else.
type Index struct {
	meta    Meta
	vectors []float32 // [n×dim], rows of unit length (or all zero)
	labels  []int32   // -1 or an index into meta.Classes
	ids     []string
	idset   map[string]int // built lazily by Add
	ann     *ann           // nil: exact search only
	mapped  *mapping       // not nil: vectors is a read-only map of the file (mapped.go)
	vecOff  int64          // where WriteTo put the vectors in the file
	logSeq  uint64         // the last update-log record folded in (Header.LogSeq)
	crc     uint32         // the CRC-32C of the body, as last read or written
}

// New returns an empty index for vectors described by m.
func New(m Meta) (*Index, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	m.Classes = slices.Clone(m.Classes)
	return &Index{meta: m}, nil
}

// fingerprintPrefix starts every model fingerprint.
const fingerprintPrefix = "sha256:"

// Fingerprint is the model fingerprint of a weights file's contents: "sha256:" and the hex digest.
func Fingerprint(weights []byte) string {
	s := sha256.Sum256(weights)
	return fingerprintPrefix + hex.EncodeToString(s[:])
}

// FingerprintFile is the Fingerprint of the file at path (a model's model.safetensors).
func FingerprintFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("fingerprinting the model: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("fingerprinting the model: reading %s: %w", path, err)
	}
	return fingerprintPrefix + hex.EncodeToString(h.Sum(nil)), nil
}

func validFingerprint(s string) bool {
	if len(s) != len(fingerprintPrefix)+64 || s[:len(fingerprintPrefix)] != fingerprintPrefix {
		return false
	}
	_, err := hex.DecodeString(s[len(fingerprintPrefix):])
	return err == nil
}

func (m Meta) check() error {
	if !validFingerprint(m.Model) {
		return fmt.Errorf("model fingerprint %q is not \"sha256:\" and 64 hex digits", m.Model)
	}
	if m.Dim < 1 || m.Dim > MaxDim {
		return fmt.Errorf("dimension %d is outside [1, %d]", m.Dim, MaxDim)
	}
	if m.ImageSize < 0 || m.ImageSize > 1<<15 || m.Channels < 0 || m.Channels > 4 {
		return fmt.Errorf("image size %d or channels %d out of range", m.ImageSize, m.Channels)
	}
	if len(m.Classes) > MaxClasses {
		return fmt.Errorf("%d class names, over the limit of %d", len(m.Classes), MaxClasses)
	}
	seen := make(map[string]bool, len(m.Classes))
	for i, c := range m.Classes {
		if c == "" || len(c) > MaxIDBytes || !utf8.ValidString(c) {
			return fmt.Errorf("class name %d is empty, too long or not UTF-8", i)
		}
		if seen[c] {
			return fmt.Errorf("class name %q appears twice", c)
		}
		seen[c] = true
	}
	return nil
}

// Meta returns a copy of the index's description.
func (x *Index) Meta() Meta {
	m := x.meta
	m.Classes = slices.Clone(m.Classes)
	return m
}

// Len is the number of vectors.
func (x *Index) Len() int { return len(x.ids) }

// Dim is the vector dimension.
func (x *Index) Dim() int { return x.meta.Dim }

// Model is the fingerprint of the model that made the vectors.
func (x *Index) Model() string { return x.meta.Model }

// ID is the id of row i.
func (x *Index) ID(i int) string { return x.ids[i] }

// Label is the label of row i, -1 when unknown.
func (x *Index) Label(i int) int { return int(x.labels[i]) }

// ClassName is the class name of row i's label, "" when unknown.
func (x *Index) ClassName(i int) string {
	if l := x.labels[i]; l >= 0 {
		return x.meta.Classes[l]
	}
	return ""
}

// Vector returns row i (unit length); the caller must not modify it, nor use it once x is
// unreachable (the vectors of an sq8 file are a map of it, removed with the last reference).
func (x *Index) Vector(i int) []float32 { return x.vectors[i*x.meta.Dim : (i+1)*x.meta.Dim] }

// Has reports whether id is in the index.
func (x *Index) Has(id string) bool {
	x.buildIDSet()
	_, ok := x.idset[id]
	return ok
}

func (x *Index) buildIDSet() {
	if x.idset != nil {
		return
	}
	x.idset = make(map[string]int, len(x.ids))
	for i, id := range x.ids {
		x.idset[id] = i
	}
}

// ErrModelMismatch is wrapped by Add and Merge when vectors come from another model.
var ErrModelMismatch = errors.New("the index was made by a different model")

// Batch is a set of vectors to add: n rows of Dim floats with an id per row, and labels (nil
// when unknown) that index classes (the class names of the batch's dataset).
type Batch struct {
	Vectors []float32
	IDs     []string
	Labels  []int    // nil, or -1 / an index into Classes per row
	Classes []string // names of the batch's labels
}

// Add appends the rows of b, L2-normalising each vector. It drops the approximate index, if
// any (BuildANN makes it again; a Store adds to it in place). Rows whose id is already in the index
// are skipped (adding a collection again adds only its new items); the counts of added and
// skipped rows are returned. Labels are mapped by class name: a class the index does not know is
// appended to its class list. On error nothing is added.
func (x *Index) Add(b Batch) (added, skipped int, err error) {
	d := x.meta.Dim
	n := len(b.IDs)
	if len(b.Vectors) != n*d {
		return 0, 0, fmt.Errorf("adding to the index: %d floats for %d ids of dimension %d", len(b.Vectors), n, d)
	}
	if b.Labels != nil && len(b.Labels) != n {
		return 0, 0, fmt.Errorf("adding to the index: %d labels for %d ids", len(b.Labels), n)
	}
	// Map the batch's classes to the index's, appending new names (committed only on success).
	classes := slices.Clone(x.meta.Classes)
	pos := make(map[string]int, len(classes))
	for i, c := range classes {
		pos[c] = i
	}
	remap := make([]int32, len(b.Classes))
	for i, c := range b.Classes {
		if c == "" || len(c) > MaxIDBytes || !utf8.ValidString(c) {
			return 0, 0, fmt.Errorf("adding to the index: class name %d is empty, too long or not UTF-8", i)
		}
		p, ok := pos[c]
		if !ok {
			p = len(classes)
			pos[c] = p
			classes = append(classes, c)
		}
		remap[i] = int32(p)
	}
	if len(classes) > MaxClasses {
		return 0, 0, fmt.Errorf("adding to the index: %d class names, over the limit of %d", len(classes), MaxClasses)
	}
	x.buildIDSet()
	batchSeen := make(map[string]bool)
	keep := make([]int, 0, n)
	for i, id := range b.IDs {
		if id == "" || len(id) > MaxIDBytes || !utf8.ValidString(id) {
			return 0, 0, fmt.Errorf("adding to the index: id %d is empty, longer than %d bytes or not UTF-8", i, MaxIDBytes)
		}
		if b.Labels != nil && (b.Labels[i] < -1 || b.Labels[i] >= len(b.Classes)) {
			return 0, 0, fmt.Errorf("adding to the index: %s has label %d but there are %d class names", id, b.Labels[i], len(b.Classes))
		}
		for _, v := range b.Vectors[i*d : (i+1)*d] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return 0, 0, fmt.Errorf("adding to the index: the vector of %s is not finite", id)
			}
		}
		if _, dup := x.idset[id]; dup || batchSeen[id] {
			skipped++
			continue
		}
		batchSeen[id] = true
		keep = append(keep, i)
	}
	x.meta.Classes = classes
	if len(keep) > 0 {
		x.ann = nil
	}
	x.vectors = slices.Grow(x.vectors, len(keep)*d)
	x.labels = slices.Grow(x.labels, len(keep))
	x.ids = slices.Grow(x.ids, len(keep))
	for _, i := range keep {
		start := len(x.vectors)
		x.vectors = append(x.vectors, b.Vectors[i*d:(i+1)*d]...)
		Normalize(x.vectors[start:])
		l := int32(-1)
		if b.Labels != nil && b.Labels[i] >= 0 {
			l = remap[b.Labels[i]]
		}
		x.labels = append(x.labels, l)
		x.idset[b.IDs[i]] = len(x.ids)
		x.ids = append(x.ids, b.IDs[i])
	}
	return len(keep), skipped, nil
}

// Normalize scales v to unit L2 norm in place; a zero vector stays zero.
func Normalize(v []float32) {
	if len(v) > 0 {
		vec.NormalizeRows(v, v, len(v), 1e-12, nil)
	}
}
