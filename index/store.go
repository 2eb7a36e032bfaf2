package index

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/contrastive-go/contrastive/internal/atomicfile"
)

// A Store is an index opened for searching and updating at once: the index file, the adds and
// deletes of its update log (path + ".log", see log.go) replayed over it, and tombstones for the
// deleted rows. Add and Delete append to the log and fsync before they return, so an
// acknowledged change survives a crash; Compact folds the log into a new index file (written
// atomically) and reclaims the deleted rows. Search, Len and Stats may run concurrently with
// each other and with Add, Delete and Compact; the writers run one at a time.
//
// Added rows are linked into the HNSW graph at once (when the index has one); deleted rows stay
// in the graph, walked through but never returned, until compaction removes them and relinks
// their neighbours.
type Store struct {
	path string // "" for a store in memory
	opt  StoreOptions
	wmu  sync.Mutex // writers
	cur  atomic.Pointer[storeState]
	log  *logWriter

	compactions atomic.Int64
	compacting  atomic.Bool
	bg          sync.WaitGroup
	bgErr       atomic.Pointer[error]
	closed      bool
}

// StoreOptions configure a Store.
type StoreOptions struct {
	// CompactAfter starts a compaction in the background once the log holds this many records
	// (0: only on command).
	CompactAfter int
	// MaxItems refuses adds that would make the store hold more live items (0: no limit).
	MaxItems int
	// EfSearch overrides the file's ef-search when > 0.
	EfSearch int
	// Log receives warnings (a torn log tail dropped) and background compaction errors.
	Log io.Writer
}

// storeState is what searches read: rows, labels and ids of the base file and of the adds since,
// the graph over them, and the tombstones. A compaction replaces the whole state.
type storeState struct {
	meta    Meta // Classes unused: see classes
	classes atomic.Pointer[[]string]
	vec     *chunked[float32] // published last: its Len is the rows readers may use
	labels  *chunked[int32]
	ids     *chunked[string]
	ann     *ann // nil: exact only; its graph's vectors are vec
	dead    *bitset
	rows    map[string]int // id → live row; writers only
	baseCRC uint32
	baseSeq uint64
	logRecs int // records in the log (replayed or appended)
}

func writeAtomic(path, what string, b []byte) error {
	return atomicfile.Write(path, what, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// LogPath is the update log beside the index file at path.
func LogPath(path string) string { return path + ".log" }

func newState(x *Index) *storeState {
	d := x.meta.Dim
	st := &storeState{meta: x.meta, labels: newChunked(1, x.labels), ids: newChunked(1, x.ids),
		dead: newBitset(x.Len()), baseCRC: x.crc, baseSeq: x.logSeq}
	cl := slices.Clone(x.meta.Classes)
	st.classes.Store(&cl)
	st.meta.Classes = nil
	if x.ann != nil {
		st.ann = x.ann
		st.vec = x.ann.graph.vec
	} else {
		st.vec = newChunked(d, x.vectors)
		st.vec.keep = x.mapped
	}
	st.rows = make(map[string]int, x.Len())
	for i, id := range x.ids {
		st.rows[id] = i
	}
	return st
}

// NewMemStore serves x from memory: updates are not written anywhere.
func NewMemStore(x *Index, opt StoreOptions) *Store {
	s := &Store{opt: opt}
	s.cur.Store(newState(x))
	return s
}

// OpenStore opens the index file at path and replays its update log. A log cut short by a
// crash loses only its unacknowledged tail (reported to opt.Log); a corrupt log, or one that
// belongs to another index file, is an error naming it.
func OpenStore(path string, opt StoreOptions) (*Store, error) {
	atomicfile.RemoveStale(path)
	atomicfile.RemoveStale(LogPath(path))
	x, err := Open(path)
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, opt: opt}
	st := newState(x)
	s.cur.Store(st)
	lp := LogPath(path)
	f, err := os.Open(lp)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening the update log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening the update log: %w", err)
	}
	c, err := readLog(f, fi.Size(), x.Dim())
	if err != nil {
		return nil, fmt.Errorf("update log %s: %w", lp, err)
	}
	if c.torn > 0 {
		s.warn("update log %s: dropped its last %d bytes (%s): a write cut short by a crash, never acknowledged", lp, c.torn, c.tornWhy)
	}
	next := c.header.FirstSeq + uint64(len(c.records))
	if c.header.BaseCRC32 != x.crc {
		// A log of an older file. Compaction writes the file, then a new log: a crash between
		// leaves a log whose records the file already holds.
		if next-1 > x.logSeq || c.header.FirstSeq > x.logSeq+1 {
			return nil, fmt.Errorf("update log %s does not belong to %s (it follows another version of the file and holds records %d to %d, the file folds in up to %d); move it away to open the index without it", lp, path, c.header.FirstSeq, next-1, x.logSeq)
		}
		return s, nil // stale: replaced on the next write
	}
	if c.header.FirstSeq != x.logSeq+1 {
		return nil, fmt.Errorf("update log %s starts at record %d but %s folds in up to %d", lp, c.header.FirstSeq, path, x.logSeq)
	}
	for i := range c.records {
		if err := s.apply(st, &c.records[i]); err != nil {
			return nil, fmt.Errorf("update log %s: record %d: %w", lp, c.records[i].seq, err)
		}
	}
	st.logRecs = len(c.records)
	if s.log, err = openLogWriter(lp, c.good, next, len(c.records)); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) warn(format string, a ...any) {
	if s.opt.Log != nil {
		fmt.Fprintf(s.opt.Log, format+"\n", a...)
	}
}

// apply makes one record's change in st (the caller holds the writer lock).
func (s *Store) apply(st *storeState, r *logRecord) error {
	switch r.kind {
	case recDelete:
		row, ok := st.rows[r.id]
		if !ok {
			return nil
		}
		delete(st.rows, r.id)
		st.dead.add(row)
	case recAdd:
		if row, ok := st.rows[r.id]; ok { // an add of a known id replaces it
			delete(st.rows, r.id)
			st.dead.add(row)
		}
		label := int32(-1)
		if r.class != "" {
			cl := *st.classes.Load()
			label = int32(slices.Index(cl, r.class))
			if label < 0 {
				if len(cl) >= MaxClasses {
					return fmt.Errorf("over %d class names", MaxClasses)
				}
				grown := append(cl[:len(cl):len(cl)], r.class)
				st.classes.Store(&grown)
				label = int32(len(cl))
			}
		}
		st.ids.push(r.id)
		st.labels.push(label)
		if st.ann != nil && st.ann.sq != nil {
			c := make([]uint8, len(r.vector))
			st.ann.sq.encode(r.vector, c)
			st.ann.codes.push(c...)
		}
		row := st.vec.push(r.vector...)
		st.rows[r.id] = row
		if st.ann != nil {
			st.ann.graph.insert(row)
		}
	}
	return nil
}

// ErrClosed is returned by the writers of a closed Store.
var ErrClosed = errors.New("the index store is closed")

// Add adds the rows of b (L2-normalising each vector): appended to the update log and fsynced
// before it returns, then searchable. A row whose id the store already holds replaces it; the
// count of rows added is returned. On error nothing is added.
func (s *Store) Add(b Batch) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	st := s.cur.Load()
	d := st.meta.Dim
	n := len(b.IDs)
	if len(b.Vectors) != n*d {
		return 0, fmt.Errorf("adding to the index: %d floats for %d ids of dimension %d", len(b.Vectors), n, d)
	}
	if b.Labels != nil && len(b.Labels) != n {
		return 0, fmt.Errorf("adding to the index: %d labels for %d ids", len(b.Labels), n)
	}
	recs := make([]logRecord, 0, n)
	seen := make(map[string]bool, n)
	fresh := 0
	for i, id := range b.IDs {
		if id == "" || len(id) > MaxIDBytes || !utf8.ValidString(id) {
			return 0, fmt.Errorf("adding to the index: id %d is empty, longer than %d bytes or not UTF-8", i, MaxIDBytes)
		}
		if seen[id] {
			return 0, fmt.Errorf("adding to the index: id %q appears twice in one batch", id)
		}
		seen[id] = true
		r := logRecord{kind: recAdd, id: id, vector: slices.Clone(b.Vectors[i*d : (i+1)*d])}
		var sq float64
		for _, v := range r.vector {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return 0, fmt.Errorf("adding to the index: the vector of %s is not finite", id)
			}
			sq += float64(v) * float64(v)
		}
		if math.Sqrt(sq) < 1e-12 {
			return 0, fmt.Errorf("adding to the index: the vector of %s has no direction (norm %.3g)", id, math.Sqrt(sq))
		}
		Normalize(r.vector)
		if b.Labels != nil {
			l := b.Labels[i]
			if l < -1 || l >= len(b.Classes) {
				return 0, fmt.Errorf("adding to the index: %s has label %d but there are %d class names", id, l, len(b.Classes))
			}
			if l >= 0 {
				r.class = b.Classes[l]
				if r.class == "" || len(r.class) > MaxIDBytes || !utf8.ValidString(r.class) {
					return 0, fmt.Errorf("adding to the index: class name %d is empty, too long or not UTF-8", l)
				}
			}
		}
		if _, ok := st.rows[id]; !ok {
			fresh++
		}
		recs = append(recs, r)
	}
	if s.opt.MaxItems > 0 && len(st.rows)+fresh > s.opt.MaxItems {
		return 0, fmt.Errorf("adding %d items would make %d, over the limit of %d (--max-items)", fresh, len(st.rows)+fresh, s.opt.MaxItems)
	}
	if err := s.write(st, recs); err != nil {
		return 0, err
	}
	return n, nil
}

// Delete removes the items with these ids (unknown ids are skipped) and returns how many it
// removed; like Add, it returns after the log is fsynced.
func (s *Store) Delete(ids []string) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	st := s.cur.Load()
	var recs []logRecord
	seen := map[string]bool{}
	for _, id := range ids {
		if _, ok := st.rows[id]; ok && !seen[id] {
			seen[id] = true
			recs = append(recs, logRecord{kind: recDelete, id: id})
		}
	}
	if len(recs) == 0 {
		return 0, nil
	}
	return len(recs), s.write(st, recs)
}

// write logs recs (when the store has a file), applies them, and starts a background
// compaction when the log is long enough. The caller holds the writer lock.
func (s *Store) write(st *storeState, recs []logRecord) error {
	if s.path != "" {
		if s.log == nil {
			// No log yet, or a stale one: start one after the records the file folds in.
			lw, err := createLog(LogPath(s.path), st.meta.Dim, st.baseCRC, st.baseSeq+1)
			if err != nil {
				return err
			}
			s.log = lw
		}
		if err := s.log.append(recs); err != nil {
			return err
		}
	}
	for i := range recs {
		if err := s.apply(st, &recs[i]); err != nil {
			return err
		}
	}
	st.logRecs += len(recs)
	if s.path != "" && s.opt.CompactAfter > 0 && st.logRecs >= s.opt.CompactAfter && s.compacting.CompareAndSwap(false, true) {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			defer s.compacting.Store(false)
			if err := s.Compact(); err != nil && !errors.Is(err, ErrClosed) {
				s.bgErr.Store(&err)
				s.warn("background compaction of %s: %v", s.path, err)
			}
		}()
	}
	return nil
}

// Close waits for a background compaction and closes the log.
func (s *Store) Close() error {
	s.wmu.Lock()
	s.closed = true
	s.wmu.Unlock()
	s.bg.Wait()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.log.close()
}
