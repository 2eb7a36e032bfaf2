package serve

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/contrastive-go/contrastive/index"
)

// itemPrefix starts DELETE /v1/items/{id}.
const itemPrefix = "/v1/items/"

// authorized reports whether r carries "Authorization: Bearer <token>" with the server's token,
// compared in constant time. With no token configured nothing is authorized.
func (s *Server) authorized(r *http.Request) bool {
	if s.opt.Token == "" {
		return false
	}
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) < len(p) || !strings.EqualFold(h[:len(p)], p) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h[len(p):])), []byte(s.opt.Token)) == 1
}

func (s *Server) refuse(w http.ResponseWriter) error {
	w.Header().Set("WWW-Authenticate", `Bearer realm="contrastive"`)
	if s.opt.Token == "" {
		return errorf(http.StatusUnauthorized, "writes are disabled: start the server with --token-file to accept them")
	}
	return errorf(http.StatusUnauthorized, "missing or wrong bearer token: send Authorization: Bearer <token from --token-file>")
}

// writer lets a request through only with the bearer token.
func (s *Server) writer(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			writeError(w, s.refuse(w))
			return
		}
		h(w, r)
	}
}

// reader is writer for reads under ProtectReads.
func (s *Server) reader(h http.HandlerFunc) http.HandlerFunc { return s.writer(h) }

// itemsRequest is the JSON body of POST /v1/items.
type itemsRequest struct {
	Items []struct {
		ID     string    `json:"id"`
		Vector []float32 `json:"vector"`
		Label  string    `json:"label"`
	} `json:"items"`
}

// handleAddItems adds items: JSON {"items": [{"id", "vector", "label"}]}, or images
// (multipart/form-data, each file field's file name its id, or a raw image body with ?id=).
func (s *Server) handleAddItems(w http.ResponseWriter, r *http.Request) error {
	kind, boundary, err := bodyKind(r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	var b index.Batch
	d := s.idx.Dim()
	if kind == "json" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return errorf(statusOf(err), "reading the body: %v", err)
		}
		var req itemsRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return errorf(http.StatusBadRequest, "malformed JSON (want {\"items\": [{\"id\": \"...\", \"vector\": [...], \"label\": \"...\"}]}): %v", err)
		}
		if len(req.Items) == 0 {
			return errorf(http.StatusBadRequest, "no items: want {\"items\": [{\"id\": \"...\", \"vector\": [...]}]}")
		}
		b.Labels = make([]int, len(req.Items))
		classes := map[string]int{}
		for i, it := range req.Items {
			if len(it.Vector) != d {
				return errorf(http.StatusBadRequest, "item %d (%q) has %d values but the index holds %d-d vectors", i, truncate(it.ID, 100), len(it.Vector), d)
			}
			if err := checkDirection(it.Vector); err != nil {
				return errorf(http.StatusBadRequest, "item %d (%q): %v", i, truncate(it.ID, 100), err)
			}
			b.IDs = append(b.IDs, it.ID)
			b.Vectors = append(b.Vectors, it.Vector...)
			b.Labels[i] = -1
			if it.Label != "" {
				c, ok := classes[it.Label]
				if !ok {
					c = len(b.Classes)
					classes[it.Label] = c
					b.Classes = append(b.Classes, it.Label)
				}
				b.Labels[i] = c
			}
		}
	} else {
		if s.emb == nil {
			return errorf(http.StatusBadRequest, "this server has no model: add items as vectors (application/json {\"items\": [...]})")
		}
		var parts []part
		err := s.work(r, func() (err error) {
			if parts, _, err = readImages(kind, boundary, r.Body, s.opt.MaxImages); err != nil {
				return err
			}
			if kind == "image" {
				parts[0].name = r.URL.Query().Get("id")
			}
			for i, p := range parts {
				if p.name == "" {
					return errorf(http.StatusBadRequest, "image %d has no id: give multipart files a file name, or a raw body ?id=", i+1)
				}
			}
			imgs, err := s.prepareImages(parts)
			if err != nil {
				return err
			}
			v, err := s.emb.Embed(r.Context(), imgs)
			if err != nil {
				return s.internal(r, err)
			}
			b.Vectors = v
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range parts {
			b.IDs = append(b.IDs, p.name)
		}
	}
	n, err := s.idx.Add(b)
	if err != nil {
		if errors.Is(err, index.ErrClosed) {
			return errorf(http.StatusServiceUnavailable, "%v", err)
		}
		if strings.Contains(err.Error(), "--max-items") {
			return errorf(http.StatusInsufficientStorage, "%v", err)
		}
		if strings.HasPrefix(err.Error(), "adding to the index:") {
			return errorf(http.StatusBadRequest, "%v", err)
		}
		return s.internal(r, err)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"added": n, "items": s.idx.Len()})
}

// handleDeleteItem removes one item: DELETE /v1/items/{id} (the id path-escaped).
func (s *Server) handleDeleteItem(w http.ResponseWriter, r *http.Request) error {
	id, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), itemPrefix))
	if err != nil || id == "" {
		return errorf(http.StatusBadRequest, "DELETE %s: want /v1/items/{id} with the id path-escaped", truncate(r.URL.Path, 100))
	}
	n, err := s.idx.Delete([]string{id})
	if err != nil {
		if errors.Is(err, index.ErrClosed) {
			return errorf(http.StatusServiceUnavailable, "%v", err)
		}
		return s.internal(r, err)
	}
	if n == 0 {
		return errorf(http.StatusNotFound, "no item %q", truncate(id, 100))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deleted": n, "items": s.idx.Len()})
}

// recallEstimate checks a sample of graph searches against exact search, one at a time in the
// background (a search that comes while one is being checked is not sampled).
type recallEstimate struct {
	every  uint64 // check one search in every; 0: none
	seen   atomic.Uint64
	busy   atomic.Bool
	mu     sync.Mutex
	n      int
	sum    float64
	wg     sync.WaitGroup
	closed atomic.Bool
}

func newRecallEstimate(fraction float64) *recallEstimate {
	r := &recallEstimate{}
	if fraction > 0 {
		r.every = uint64(max(1, int(1/fraction+0.5)))
	}
	return r
}

func (r *recallEstimate) maybe(idx *index.Store, q []float32, k int, got []index.Result) {
	if r.every == 0 || r.closed.Load() || r.seen.Add(1)%r.every != 0 || !r.busy.CompareAndSwap(false, true) {
		return
	}
	ids := make(map[string]bool, len(got))
	for _, h := range got {
		ids[h.ID] = true
	}
	q = append([]float32(nil), q...)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.busy.Store(false)
		ex, err := idx.Search(q, k, index.SearchOptions{Exact: true})
		if err != nil || len(ex[0]) == 0 {
			return
		}
		hit := 0
		for _, h := range ex[0] {
			if ids[h.ID] {
				hit++
			}
		}
		r.mu.Lock()
		r.n++
		r.sum += float64(hit) / float64(len(ex[0]))
		r.mu.Unlock()
	}()
}

func (r *recallEstimate) value() (int, float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return 0, 0
	}
	return r.n, r.sum / float64(r.n)
}

func (r *recallEstimate) wait() {
	r.closed.Store(true)
	r.wg.Wait()
}
