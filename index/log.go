package index

// The update log (the index file's path + ".log") holds the adds and deletes made since the
// index file was last written, so that an item is stored by appending a few hundred bytes and
// one fsync instead of rewriting the file. Every integer is little-endian:
//
//	"CTRLOG\r\n" | uint32 H | H bytes JSON (LogHeader) | uint32 CRC-32C of the JSON
//	records, each: uint32 L | uint32 CRC-32C of the payload | L bytes payload
//	payload: uint8 kind | uint64 seq | uint32 n, n bytes id | then for an add:
//	         uint32 c, c bytes class name (c = 0: no label) | dim float32 (unit length)
//
// The header binds the log to one index file by that file's CRC-32C. Sequence numbers rise by
// one from record to record; the index file's log_seq says which are already folded in
// (compaction writes the file, then starts a new log). Reading stops at the first record that
// is cut short or fails its checksum: when nothing follows it, it is the tail of a write a crash
// interrupted (never acknowledged, since an add returns only after the fsync) and is dropped
// with a warning; anywhere else the log is corrupt and is refused with its offset.

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
)

// LogMagic starts every update log.
const LogMagic = "CTRLOG\r\n"

// LogHeader is the JSON header of an update log.
type LogHeader struct {
	Format    int    `json:"format"`
	Dim       int    `json:"dim"`
	BaseCRC32 uint32 `json:"base_crc32c"` // of the index file this log follows
	FirstSeq  uint64 `json:"first_seq"`   // the sequence number of its first record
}

const (
	recAdd    = 1
	recDelete = 2
)

// maxRecord bounds one record's payload.
const maxRecord = 1 + 8 + 4 + MaxIDBytes + 4 + MaxIDBytes + 4*MaxDim

// logRecord is one add or delete.
type logRecord struct {
	kind   uint8
	seq    uint64
	id     string
	class  string    // add: "" for no label
	vector []float32 // add
}

func (r *logRecord) appendTo(b []byte) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // length and CRC, filled below
	b = append(b, r.kind)
	b = binary.LittleEndian.AppendUint64(b, r.seq)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.id)))
	b = append(b, r.id...)
	if r.kind == recAdd {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r.class)))
		b = append(b, r.class...)
		for _, v := range r.vector {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	p := b[start+8:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(p)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(p, castagnoli))
	return b
}

func decodeRecord(p []byte, dim int) (logRecord, error) {
	var r logRecord
	take := func(n int) ([]byte, bool) {
		if len(p) < n {
			return nil, false
		}
		b := p[:n]
		p = p[n:]
		return b, true
	}
	str := func(what string, allowEmpty bool) (string, error) {
		lb, ok := take(4)
		if !ok {
			return "", fmt.Errorf("cut short before the %s", what)
		}
		n := binary.LittleEndian.Uint32(lb)
		if n > MaxIDBytes || n == 0 && !allowEmpty {
			return "", fmt.Errorf("%s of %d bytes", what, n)
		}
		b, ok := take(int(n))
		if !ok || !utf8.Valid(b) {
			return "", fmt.Errorf("%s cut short or not UTF-8", what)
		}
		return string(b), nil
	}
	h, ok := take(9)
	if !ok {
		return r, errors.New("cut short")
	}
	r.kind, r.seq = h[0], binary.LittleEndian.Uint64(h[1:])
	var err error
	if r.id, err = str("id", false); err != nil {
		return r, err
	}
	switch r.kind {
	case recDelete:
	case recAdd:
		if r.class, err = str("class name", true); err != nil {
			return r, err
		}
		if len(p) != 4*dim {
			return r, fmt.Errorf("an add of %d vector bytes, want %d", len(p), 4*dim)
		}
		r.vector = make([]float32, dim)
		var s float64
		for i := range r.vector {
			r.vector[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
			s += float64(r.vector[i]) * float64(r.vector[i])
		}
		if math.IsNaN(s) || math.IsInf(s, 0) || (s != 0 && math.Abs(s-1) > 1e-3) {
			return r, fmt.Errorf("the vector of %q has squared norm %g, not 1", r.id, s)
		}
		p = nil
	default:
		return r, fmt.Errorf("unknown record kind %d", r.kind)
	}
	if len(p) != 0 {
		return r, fmt.Errorf("%d bytes after the record's fields", len(p))
	}
	return r, nil
}

func encodeLogHeader(h LogHeader) []byte {
	hb, _ := json.Marshal(h)
	b := append([]byte(LogMagic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(hb)))
	b = append(b, hb...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(hb, castagnoli))
}

// logContents is what readLog found.
type logContents struct {
	header  LogHeader
	records []logRecord
	good    int64  // bytes up to the end of the last good record
	torn    int64  // bytes after it that were dropped (a write cut by a crash)
	tornWhy string // what was wrong with them
}

// readLog reads the update log in r (size bytes). A corrupt header or a bad record with more
// data after it is an error; a bad last record is reported in torn.
func readLog(r io.ReaderAt, size int64, dim int) (*logContents, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<20)
	var pre [12]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil || string(pre[:8]) != LogMagic {
		return nil, fmt.Errorf("%w: not an update log (bad magic or shorter than 12 bytes)", ErrFormat)
	}
	hl := int64(binary.LittleEndian.Uint32(pre[8:]))
	if hl > 1<<16 || 12+hl+4 > size {
		return nil, fmt.Errorf("%w: log header length %d is over the limit or the file size", ErrFormat, hl)
	}
	hb := make([]byte, hl+4)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, fmt.Errorf("%w: reading the log header: %v", ErrFormat, err)
	}
	if crc32.Checksum(hb[:hl], castagnoli) != binary.LittleEndian.Uint32(hb[hl:]) {
		return nil, fmt.Errorf("%w: the log header fails its checksum", ErrFormat)
	}
	c := &logContents{good: 12 + hl + 4}
	dec := json.NewDecoder(bytes.NewReader(hb[:hl]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c.header); err != nil || c.header.Format != 1 || c.header.Dim != dim {
		return nil, fmt.Errorf("%w: log header %s is not format 1 for %d-d vectors (%v)", ErrFormat, hb[:hl], dim, err)
	}
	next := c.header.FirstSeq
	buf := make([]byte, 0, 4096)
	for c.good < size {
		off := c.good
		fail := func(why string) (*logContents, error) {
			// Bad data. If it reaches the end of the file (or only zeros follow, blocks a
			// crash left unwritten) it is a torn write, else corruption.
			if end := off + 8 + int64(binary.LittleEndian.Uint32(pre[:4])); why == "cut short" || end >= size || zeros(r, off, size) {
				c.torn, c.tornWhy = size-off, why
				return c, nil
			}
			return nil, fmt.Errorf("%w: record at byte %d (sequence %d): %s, and %d bytes follow it", ErrFormat, off, next, why, size-off)
		}
		if size-off < 8 {
			return fail("cut short")
		}
		if _, err := io.ReadFull(br, pre[:8]); err != nil {
			return nil, fmt.Errorf("reading the log: %w", err)
		}
		l := int64(binary.LittleEndian.Uint32(pre[:4]))
		if l > maxRecord {
			return fail(fmt.Sprintf("a length of %d bytes, over the limit of %d", l, maxRecord))
		}
		if off+8+l > size {
			return fail("cut short")
		}
		buf = buf[:l]
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("reading the log: %w", err)
		}
		if crc32.Checksum(buf, castagnoli) != binary.LittleEndian.Uint32(pre[4:8]) {
			return fail("checksum mismatch")
		}
		rec, err := decodeRecord(buf, dim)
		if err != nil {
			return fail(err.Error())
		}
		if rec.seq != next {
			return fail(fmt.Sprintf("sequence number %d where %d was due", rec.seq, next))
		}
		next++
		c.records = append(c.records, rec)
		c.good = off + 8 + l
	}
	return c, nil
}

// logWriter appends records to an update log, fsyncing each batch.
type logWriter struct {
	f    *os.File
	path string
	size int64
	next uint64 // the next sequence number
	n    int    // records in the log
}

// createLog writes a new, empty log at path (atomically, replacing any) following the index
// file whose CRC-32C is base, with first sequence number first, and opens it for appending.
func createLog(path string, dim int, base uint32, first uint64) (*logWriter, error) {
	hdr := encodeLogHeader(LogHeader{Format: 1, Dim: dim, BaseCRC32: base, FirstSeq: first})
	if err := writeAtomic(path, "update log", hdr); err != nil {
		return nil, err
	}
	return openLogWriter(path, int64(len(hdr)), first, 0)
}

func openLogWriter(path string, size int64, next uint64, n int) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the update log: %w", err)
	}
	if err := f.Truncate(size); err != nil { // drop a torn tail
		f.Close()
		return nil, fmt.Errorf("truncating the update log %s: %w", path, err)
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("opening the update log: %w", err)
	}
	return &logWriter{f: f, path: path, size: size, next: next, n: n}, nil
}

// append writes the records (setting their sequence numbers) and fsyncs; on error the log is
// cut back to where it was, so nothing of the batch remains.
func (w *logWriter) append(recs []logRecord) error {
	var b []byte
	for i := range recs {
		recs[i].seq = w.next + uint64(i)
		b = recs[i].appendTo(b)
	}
	if _, err := w.f.Write(b); err != nil {
		w.f.Truncate(w.size)
		w.f.Seek(w.size, io.SeekStart)
		return fmt.Errorf("appending to the update log %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		w.f.Truncate(w.size)
		w.f.Seek(w.size, io.SeekStart)
		return fmt.Errorf("syncing the update log %s: %w", w.path, err)
	}
	w.size += int64(len(b))
	w.next += uint64(len(recs))
	w.n += len(recs)
	return nil
}

func (w *logWriter) close() error {
	if w == nil || w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// zeros reports whether bytes from..size of r are all zero.
func zeros(r io.ReaderAt, from, size int64) bool {
	buf := make([]byte, 64<<10)
	for from < size {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-from)], from)
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
		if err != nil && n == 0 {
			return false
		}
		from += int64(n)
	}
	return true
}
