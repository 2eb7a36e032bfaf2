package serve

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/contrastive-go/contrastive/index"
)

// searcher gathers concurrent searches into one index.Search call: scoring 64 queries costs one
// pass over the index's memory instead of 64, so under load the throughput grows with the
// number of waiting requests while a lone request runs at once, unbatched.
type searcher struct {
	idx      *index.Store
	maxBatch int
	reqs     chan *searchJob
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once

	batches, queries atomic.Uint64
}

type searchJob struct {
	q     []float32
	k     int
	exact bool
	hits  []index.Result
	err   error
	done  chan struct{}
}

func newSearcher(idx *index.Store, maxBatch int) *searcher {
	s := &searcher{idx: idx, maxBatch: maxBatch, reqs: make(chan *searchJob), stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

// search returns the k best items for q (of the index's dimension), exactly when exact.
func (s *searcher) search(ctx context.Context, q []float32, k int, exact bool) ([]index.Result, error) {
	j := &searchJob{q: q, k: k, exact: exact, done: make(chan struct{})}
	select {
	case s.reqs <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stop:
		return nil, errClosed
	}
	<-j.done
	return j.hits, j.err
}

func (s *searcher) close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

func (s *searcher) loop() {
	defer close(s.done)
	for {
		var first *searchJob
		select {
		case first = <-s.reqs:
		case <-s.stop:
			return
		}
		jobs := []*searchJob{first}
	gather:
		for len(jobs) < s.maxBatch {
			select {
			case j := <-s.reqs:
				jobs = append(jobs, j)
			default:
				break gather
			}
		}
		s.run(jobs)
	}
}

func (s *searcher) run(jobs []*searchJob) {
	defer func() {
		for _, j := range jobs {
			close(j.done)
		}
	}()
	for _, exact := range []bool{false, true} {
		var group []*searchJob
		for _, j := range jobs {
			if j.exact == exact {
				group = append(group, j)
			}
		}
		if len(group) == 0 {
			continue
		}
		d := s.idx.Dim()
		q := make([]float32, 0, len(group)*d)
		k := 0
		for _, j := range group {
			q = append(q, j.q...)
			k = max(k, j.k)
		}
		hits, err := s.idx.Search(q, k, index.SearchOptions{Exact: exact})
		for i, j := range group {
			if err != nil {
				j.err = err
				continue
			}
			j.hits = hits[i][:min(j.k, len(hits[i]))]
		}
		s.batches.Add(1)
	}
	s.queries.Add(uint64(len(jobs)))
}
