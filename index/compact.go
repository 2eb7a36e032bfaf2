package index

import (
	"errors"
	"slices"
	"sync/atomic"
)

// Compact folds the update log into a new index file: the live items only, the graph with the
// deleted nodes removed and their neighbours relinked, written atomically (a temporary file,
// fsynced and renamed); then it starts an empty log. A crash at any point leaves the old file
// and its log, or the new file (with a log whose records it already holds, or a new one).
// Searches go on meanwhile against the old state; adds and deletes wait.
func (s *Store) Compact() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.path == "" {
		return errors.New("compacting: the store has no file")
	}
	st := s.cur.Load()
	if st.logRecs == 0 && st.dead.Len() == 0 {
		return nil
	}
	x := st.compacted()
	x.logSeq = st.baseSeq + uint64(st.logRecs)
	if err := x.Save(s.path); err != nil {
		return err
	}
	x.remapVectors(s.path) // sq8: the vectors from the page cache again
	lw, err := createLog(LogPath(s.path), x.meta.Dim, x.crc, x.logSeq+1)
	if err != nil {
		// The file holds everything; the old log's records are all folded in and are skipped
		// when the store is opened again. Writes start a new log.
		s.log.close()
		s.log = nil
	} else {
		s.log.close()
		s.log = lw
	}
	s.cur.Store(newState(x))
	s.compactions.Add(1)
	return err
}

// compacted returns the live rows as an Index (with the graph and codes renumbered).
func (st *storeState) compacted() *Index {
	d := st.meta.Dim
	n := st.vec.Len()
	newRow := make([]int32, n)
	live := 0
	for i := range newRow {
		if st.dead.has(i) {
			newRow[i] = -1
		} else {
			newRow[i] = int32(live)
			live++
		}
	}
	x := &Index{meta: st.meta, vectors: make([]float32, 0, live*d), labels: make([]int32, 0, live), ids: make([]string, 0, live)}
	x.meta.Classes = slices.Clone(*st.classes.Load())
	for i := 0; i < n; i++ {
		if newRow[i] >= 0 {
			x.vectors = append(x.vectors, st.vec.row(i)...)
			x.labels = append(x.labels, st.labels.at(i))
			x.ids = append(x.ids, st.ids.at(i))
		}
	}
	if st.ann != nil {
		x.ann = st.ann.compacted(newRow, live, x.vectors, d)
	}
	return x
}

// compacted renumbers the graph to the live nodes. A node that linked to deleted ones is
// relinked on that level by the selection heuristic among its live neighbours and the live
// neighbours of the deleted ones (Weaviate's and hnswlib's repair of deletions).
func (a *ann) compacted(newRow []int32, live int, vectors []float32, d int) *ann {
	g := a.graph
	vec := newChunked(d, vectors)
	ng := newHNSW(g.Config(), vec)
	na := &ann{graph: ng, efSearch: a.efSearch, sq: a.sq}
	if a.sq != nil {
		codes := make([]uint8, 0, live*d)
		for i, r := range newRow {
			if r >= 0 {
				codes = append(codes, a.codes.row(i)...)
			}
		}
		na.codes = newChunked(d, codes)
	}
	if live == 0 {
		return na
	}
	ng.chunk(live - 1)
	entry, top := -1, -1
	if e := g.entry.Load(); e != entryNone && newRow[e>>8] >= 0 {
		entry, top = int(newRow[e>>8]), int(e&0xff)
	}
	for i, r := range newRow {
		if r < 0 {
			continue
		}
		l := g.level(i)
		c, o := ng.chunk(int(r))
		c.level[o] = uint8(l)
		if l > 0 {
			c.upper[o] = make([]uint32, l*(1+ng.m))
		}
		if l > top {
			entry, top = int(r), l
		}
	}
	var cands []scored
	seen := map[uint32]bool{}
	for i, r := range newRow {
		if r < 0 {
			continue
		}
		v := vec.row(int(r))
		for l := 0; l <= g.level(i); l++ {
			old := g.links(i, l)
			nl := ng.links(int(r), l)
			cands = cands[:0]
			clear(seen)
			repaired := false
			add := func(id uint32) {
				if nr := newRow[id]; nr >= 0 && nr != r && !seen[uint32(nr)] {
					seen[uint32(nr)] = true
					cands = append(cands, scored{dot(v, vec.row(int(nr))), uint32(nr)})
				}
			}
			for _, nb := range old[1 : 1+atomic.LoadUint32(&old[0])] {
				if newRow[nb] >= 0 {
					add(nb)
					continue
				}
				repaired = true
				ol := g.links(int(nb), l)
				for _, nn := range ol[1 : 1+atomic.LoadUint32(&ol[0])] {
					add(nn)
				}
			}
			maxM := ng.m
			if l == 0 {
				maxM = ng.m0
			}
			if repaired {
				slices.SortFunc(cands, func(a, b scored) int {
					switch {
					case a.s > b.s:
						return -1
					case a.s < b.s:
						return 1
					}
					return int(a.id) - int(b.id)
				})
				cands = ng.selectNeighbors(cands, maxM)
			}
			for j, c := range cands[:min(len(cands), maxM)] {
				nl[1+j] = c.id
			}
			nl[0] = uint32(min(len(cands), maxM))
		}
	}
	ng.entry.Store(uint64(entry)<<8 | uint64(top))
	return na
}
