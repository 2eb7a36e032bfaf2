// Package serve is the similarity-search service: an http.Handler that embeds uploaded images
// with a trained model and finds their nearest neighbours in an index (package index).
//
//	POST /v1/embed    one image (raw body: image/*, application/octet-stream) or several
//	                  (multipart/form-data file fields) → {"vectors": [[...]], ...}
//	POST /v1/search   an image (raw body with ?k=10, or multipart with a file and a k field) or
//	                  a vector (application/json {"vector": [...], "k": 10})
//	                  → {"results": [{"id", "score", "label"}], ...}, best first, cosine scores
//	GET  /healthz     {"status": "ok", ...}
//	GET  /metrics     Prometheus text format: requests, errors, latency histogram
//
// Every error is a 4xx or 5xx with a JSON body {"error": "..."}. Client input is bounded: the
// body size (Options.MaxBodyBytes), the images per request, an image's pixels before it is
// decoded (a guard against decompression bombs), k, and the number of requests worked on at once
// (reading bodies and decoding images: further requests wait, up to Options.QueueTimeout, then
// get 503; and the requests in progress, Options.MaxQueued). Concurrent embeds share
// forward passes (Embedder) and concurrent searches share passes over the index.
package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/index"
)

// Options bound and tune a Server; the zero value gives the defaults.
type Options struct {
	MaxBodyBytes   int64         // largest request body (default 16 MiB)
	MaxImages      int           // images in one embed request (default 32)
	MaxK           int           // largest k (default 1000)
	DefaultK       int           // k when the request gives none (default 10)
	MaxConcurrent  int           // requests reading bodies and decoding images at once (default 2·GOMAXPROCS)
	QueueTimeout   time.Duration // how long a request waits for such a slot before a 503 (default 10 s)
	MaxQueued      int           // embed and search requests in progress, waiting included (default 1024); more get 503
	MaxSearchBatch int           // searches gathered into one pass over the index (default 64)
	// Token is the bearer token that POST /v1/items and DELETE /v1/items/{id} need; "" refuses
	// every write. ProtectReads makes search and embed need it too.
	Token        string
	ProtectReads bool
	// RecallSample is the fraction of graph searches also answered exactly, in the background,
	// to estimate the graph's recall@k for /metrics (0: none).
	RecallSample float64
	// Logger receives errors the server answers with 5xx; nil discards them.
	Logger *log.Logger
}

func (o *Options) defaults() {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 16 << 20
	}
	if o.MaxImages <= 0 {
		o.MaxImages = 32
	}
	if o.MaxK <= 0 {
		o.MaxK = 1000
	}
	if o.DefaultK <= 0 {
		o.DefaultK = min(10, o.MaxK)
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 2 * runtime.GOMAXPROCS(0)
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 1024
	}
	if o.QueueTimeout <= 0 {
		o.QueueTimeout = 10 * time.Second
	}
	if o.MaxSearchBatch <= 0 {
		o.MaxSearchBatch = 64
	}
	if o.Logger == nil {
		o.Logger = log.New(io.Discard, "", 0)
	}
}

// Server is the service's http.Handler. Close it to stop its workers.
type Server struct {
	opt      Options
	idx      *index.Store
	emb      *Embedder // nil: no model, search by vector only
	searcher *searcher
	sem      chan struct{} // work slots: reading bodies, decoding images
	admit    chan struct{} // requests in progress
	metrics  *metrics
	recall   *recallEstimate
	routes   map[string]http.HandlerFunc // exact paths: no redirects, every answer JSON
}

// New returns a server answering from idx, embedding images with emb (nil serves search by
// vector only). emb's vectors must have the index's dimension.
func New(idx *index.Store, emb *Embedder, opt Options) (*Server, error) {
	opt.defaults()
	if emb != nil && emb.Dim() != idx.Dim() {
		return nil, fmt.Errorf("the model gives %d-d vectors but the index holds %d-d ones", emb.Dim(), idx.Dim())
	}
	if emb != nil && opt.MaxImages > emb.opt.MaxBatch {
		opt.MaxImages = emb.opt.MaxBatch
	}
	s := &Server{opt: opt, idx: idx, emb: emb, searcher: newSearcher(idx, opt.MaxSearchBatch),
		sem: make(chan struct{}, opt.MaxConcurrent), admit: make(chan struct{}, opt.MaxQueued), metrics: newMetrics(), recall: newRecallEstimate(opt.RecallSample)}
	s.routes = map[string]http.HandlerFunc{
		"/v1/embed":  s.limited(http.MethodPost, s.handleEmbed),
		"/v1/search": s.limited(http.MethodPost, s.handleSearch),
		"/healthz":   s.method(http.MethodGet, s.handleHealth),
		"/metrics":   s.method(http.MethodGet, s.handleMetrics),
		"/v1/items":  s.writer(s.limited(http.MethodPost, s.handleAddItems)),
	}
	if opt.ProtectReads {
		for _, p := range []string{"/v1/embed", "/v1/search"} {
			s.routes[p] = s.reader(s.routes[p])
		}
	}
	return s, nil
}

// Close stops the embedding and search workers and closes the index (after Serve has returned).
func (s *Server) Close() {
	s.searcher.close()
	if s.emb != nil {
		s.emb.Close()
	}
	s.recall.wait()
	s.idx.Close()
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (h handlerFunc) serve(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		writeError(w, err)
	}
}

func (s *Server) method(m string, h handlerFunc) http.HandlerFunc {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != m {
			w.Header().Set("Allow", m)
			return errorf(http.StatusMethodNotAllowed, "%s %s is not allowed: use %s", r.Method, r.URL.Path, m)
		}
		return h(w, r)
	}).serve
}

// limited checks the method, admits the request if fewer than MaxQueued are being served, and
// limits the body size. The heavy part of a handler (reading the body, decoding images) runs in
// s.work, under the tighter MaxConcurrent bound.
func (s *Server) limited(m string, h handlerFunc) http.HandlerFunc {
	return s.method(m, func(w http.ResponseWriter, r *http.Request) error {
		select {
		case s.admit <- struct{}{}:
			defer func() { <-s.admit }()
		default:
			w.Header().Set("Retry-After", "1")
			return errorf(http.StatusServiceUnavailable, "the server is busy: %d requests in progress", s.opt.MaxQueued)
		}
		r.Body = &bodyReader{ReadCloser: http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes), s: s, r: r}
		return h(w, r)
	})
}

// bodyReader keeps the connection's read errors out of the answer: Go's net errors name both
// socket addresses ("read tcp 10.0.0.5:8080->203.0.113.9:51234: i/o timeout"). The error is
// logged with the client's address, and the reader returns a 408 (timeout) or 400 that does not
// name them. The size limit's *http.MaxBytesError passes through (a 413).
type bodyReader struct {
	io.ReadCloser
	s      *Server
	r      *http.Request
	failed error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.failed != nil {
		return 0, b.failed
	}
	n, err := b.ReadCloser.Read(p)
	var mb *http.MaxBytesError
	if err == nil || err == io.EOF || errors.As(err, &mb) {
		return n, err
	}
	b.s.opt.Logger.Printf("%s %s from %s: reading the body: %v", b.r.Method, b.r.URL.Path, b.r.RemoteAddr, err)
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		b.failed = errorf(http.StatusRequestTimeout, "reading the request body timed out: send the whole body promptly")
	case errors.Is(err, io.ErrUnexpectedEOF):
		b.failed = errorf(http.StatusBadRequest, "the request body ended before its Content-Length")
	default:
		b.failed = errorf(http.StatusBadRequest, "the request body could not be read")
	}
	return n, b.failed
}

// work runs f holding one of the MaxConcurrent work slots, waiting up to QueueTimeout for one.
func (s *Server) work(r *http.Request, f func() error) error {
	t := time.NewTimer(s.opt.QueueTimeout)
	defer t.Stop()
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-t.C:
		return errorf(http.StatusServiceUnavailable, "the server is busy: no work slot within %s", s.opt.QueueTimeout)
	case <-r.Context().Done():
		return errorf(http.StatusServiceUnavailable, "the request was cancelled while waiting: %v", r.Context().Err())
	}
	return f()
}

// statusWriter remembers the status written, for the metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP routes the request, records its metrics and turns a panic into a 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	s.metrics.begin()
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				s.metrics.observe(r.URL.Path, 499, time.Since(start))
				panic(p)
			}
			s.opt.Logger.Printf("panic serving %s %s: %v", r.Method, r.URL.Path, p)
			if sw.status == 0 {
				writeError(sw, errorf(http.StatusInternalServerError, "internal error"))
			}
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.metrics.observe(r.URL.Path, sw.status, time.Since(start))
	}()
	h, ok := s.routes[r.URL.Path]
	if !ok && strings.HasPrefix(r.URL.Path, itemPrefix) {
		h, ok = s.writer(s.method(http.MethodDelete, s.handleDeleteItem)), true
	}
	if !ok {
		h = handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			return errorf(http.StatusNotFound, "no endpoint %s (try POST /v1/search, POST /v1/embed, POST /v1/items, DELETE /v1/items/{id}, GET /healthz, GET /metrics)", truncate(r.URL.Path, 100))
		}).serve
	}
	h(sw, r)
}

// writeJSON encodes v and writes it with status code. An encoding failure (a NaN score, say)
// must not become a 200 with an empty body: it is returned, and the caller answers 500.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		return fmt.Errorf("encoding the answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(b.Bytes())
	return nil
}

func writeError(w http.ResponseWriter, err error) {
	code := statusOf(err)
	msg := err.Error()
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		msg = fmt.Sprintf("the request body is over the limit of %d bytes", mb.Limit)
	}
	writeJSON(w, code, map[string]string{"error": msg}) // a map of strings always encodes
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "vectors": s.idx.Len(), "dim": s.idx.Dim(), "model": s.idx.Model(), "images": s.emb != nil, "kind": s.idx.Kind(),
	})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	st := s.idx.Stats()
	g := []gauge{
		{"contrastive_index_vectors", "Vectors in the index (live items).", "gauge", float64(st.Items)},
		{"contrastive_index_tombstones", "Deleted items not yet reclaimed by compaction.", "gauge", float64(st.Tombstones)},
		{"contrastive_index_log_records", "Records in the update log, folded in by the next compaction.", "gauge", float64(st.LogRecords)},
		{"contrastive_index_segments", "Parts the index is read from: the index file, plus its update log when it holds records.", "gauge", float64(st.Segments)},
		{"contrastive_index_compactions_total", "Compactions since the server started.", "counter", float64(st.Compactions)},
		{"contrastive_index_bytes_per_vector", "Estimated memory per item (vectors, codes, graph, id, label).", "gauge", st.BytesPerVector},
		{"contrastive_search_batches_total", "Passes over the index (each serves one or more gathered searches).", "counter", float64(s.searcher.batches.Load())},
		{"contrastive_search_queries_total", "Searches answered by those passes.", "counter", float64(s.searcher.queries.Load())},
	}
	if s.emb != nil {
		g = append(g,
			gauge{"contrastive_embed_batches_total", "Forward passes of the model (each serves one or more gathered requests).", "counter", float64(s.emb.batches.Load())},
			gauge{"contrastive_embed_images_total", "Images embedded.", "counter", float64(s.emb.images.Load())})
	}
	if n, mean := s.recall.value(); n > 0 {
		g = append(g,
			gauge{"contrastive_ann_recall_estimate", "Mean recall@k of sampled graph searches against exact search.", "gauge", mean},
			gauge{"contrastive_ann_recall_samples_total", "Graph searches checked against exact search.", "counter", float64(n)})
	}
	s.metrics.write(w, g)
	return nil
}

// prepareImages decodes and transforms uploaded images.
func (s *Server) prepareImages(parts []part) ([]data.Image, error) {
	if s.emb == nil {
		return nil, errorf(http.StatusBadRequest, "this server has no model: search by vector (application/json {\"vector\": [...]})")
	}
	imgs := make([]data.Image, len(parts))
	for i, p := range parts {
		img, err := s.emb.Prepare(p.data)
		if err != nil {
			if len(parts) > 1 {
				return nil, errorf(statusOf(err), "image %d (%q): %v", i+1, truncate(p.name, 100), err)
			}
			return nil, err
		}
		imgs[i] = img
	}
	return imgs, nil
}

// embedResponse is the JSON answer of /v1/embed.
type embedResponse struct {
	Model    string      `json:"model"`
	Features string      `json:"features"`
	Dim      int         `json:"dim"`
	Count    int         `json:"count"`
	Names    []string    `json:"names,omitempty"`
	Vectors  [][]float32 `json:"vectors"`
}

func (s *Server) handleEmbed(w http.ResponseWriter, r *http.Request) error {
	kind, boundary, err := bodyKind(r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	if kind == "json" {
		return errorf(http.StatusUnsupportedMediaType, "/v1/embed takes images: a raw image body or multipart/form-data")
	}
	var parts []part
	var imgs []data.Image
	err = s.work(r, func() (err error) {
		if parts, _, err = readImages(kind, boundary, r.Body, s.opt.MaxImages); err != nil {
			return err
		}
		imgs, err = s.prepareImages(parts)
		return err
	})
	if err != nil {
		return err
	}
	out, err := s.emb.Embed(r.Context(), imgs)
	if err != nil {
		return s.internal(r, err)
	}
	normalize := r.URL.Query().Get("normalize")
	res := embedResponse{Model: s.idx.Model(), Features: s.idx.Meta().Features, Dim: s.emb.Dim(), Count: len(imgs)}
	d := s.emb.Dim()
	for i := range imgs {
		v := out[i*d : (i+1)*d]
		if normalize == "1" || normalize == "true" {
			index.Normalize(v)
		}
		res.Vectors = append(res.Vectors, v)
		if parts[i].name != "" {
			res.Names = append(res.Names, parts[i].name)
		}
	}
	if len(res.Names) != len(res.Vectors) {
		res.Names = nil
	}
	if err := writeJSON(w, http.StatusOK, res); err != nil {
		return s.internal(r, err)
	}
	return nil
}

// internal logs a server-side failure and answers 503 (shut down or cancelled) or 500.
func (s *Server) internal(r *http.Request, err error) error {
	if errors.Is(err, errClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errorf(http.StatusServiceUnavailable, "%v", err)
	}
	s.opt.Logger.Printf("%s %s: %v", r.Method, r.URL.Path, err)
	return errorf(http.StatusInternalServerError, "internal error: %v", err)
}

// Result is one search hit in the JSON answer.
type Result struct {
	ID    string  `json:"id"`
	Score float32 `json:"score"`
	Label string  `json:"label,omitempty"`
}

// searchResponse is the JSON answer of /v1/search.
type searchResponse struct {
	K       int      `json:"k"`
	Exact   bool     `json:"exact"`
	Results []Result `json:"results"`
	TookMS  float64  `json:"took_ms"`
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	var in searchInput
	var imgs []data.Image
	err := s.work(r, func() (err error) {
		in, err = parseSearch(r.Header.Get("Content-Type"), r.URL.Query(), r.Body, s.idx.Dim(), s.opt.DefaultK, s.opt.MaxK)
		if err != nil || in.image == nil {
			return err
		}
		imgs, err = s.prepareImages([]part{*in.image})
		in.image = nil
		return err
	})
	if err != nil {
		return err
	}
	q := in.vector
	if imgs != nil {
		if q, err = s.emb.Embed(r.Context(), imgs); err != nil {
			return s.internal(r, err)
		}
	}
	hits, err := s.searcher.search(r.Context(), q, in.k, in.exact)
	if err != nil {
		return s.internal(r, err)
	}
	if !in.exact && s.idx.Kind() == index.KindHNSW {
		s.recall.maybe(s.idx, q, in.k, hits)
	}
	res := searchResponse{K: in.k, Results: make([]Result, len(hits)), Exact: in.exact || s.idx.Kind() == index.KindExact}
	for i, h := range hits {
		res.Results[i] = Result{ID: h.ID, Score: h.Score, Label: h.Label}
	}
	res.TookMS = float64(time.Since(start).Microseconds()) / 1000
	if err := writeJSON(w, http.StatusOK, res); err != nil {
		return s.internal(r, err)
	}
	return nil
}

// Timeouts of the http.Server that Serve runs.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
	ShutdownTimeout   = 30 * time.Second
)

// Serve answers on ln until ctx is done, then shuts down gracefully: it stops accepting, lets
// the requests in flight finish (up to ShutdownTimeout) and returns nil. The http.Server has
// read, write and idle timeouts and a 64 KiB header limit.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          s.opt.Logger,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	<-errc // http.ErrServerClosed
	return nil
}
