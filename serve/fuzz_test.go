package serve

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/index"
)

// FuzzParseSearch checks that search-request parsing never panics and either fails with a 4xx
// or returns a vector of the right dimension or an image, with k in range.
func FuzzParseSearch(f *testing.F) {
	f.Add("application/json", "", []byte(`{"vector": [1, 2, 3, 4], "k": 2}`))
	f.Add("application/json", "k=3", []byte(`{"vector": [1, 2, 3]}`))
	f.Add("image/png", "k=5", []byte("\x89PNG\r\n\x1a\n"))
	f.Add("multipart/form-data; boundary=b", "", []byte("--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n7\r\n--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nxyz\r\n--b--\r\n"))
	f.Add("text/plain", "", []byte("x"))
	f.Fuzz(func(t *testing.T, ct, query string, body []byte) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		in, err := parseSearch(ct, q, bytes.NewReader(body), 4, 10, 50)
		if err != nil {
			if c := statusOf(err); c < 400 || c > 499 {
				t.Fatalf("status %d for a client error: %v", c, err)
			}
			return
		}
		if in.k < 1 || in.k > 50 {
			t.Fatalf("k = %d out of range", in.k)
		}
		if (in.vector == nil) == (in.image == nil) || (in.vector != nil && len(in.vector) != 4) {
			t.Fatalf("parsed %+v", in)
		}
	})
}

// FuzzHandler sends arbitrary requests through the whole handler (model included) and checks
// that every answer is JSON (or the metrics text) with a consistent status, never a panic.
func FuzzHandler(f *testing.F) {
	emb := newEmbedder(f)
	s, err := New(index.NewMemStore(randomIndex(f, 50, emb.Dim()), index.StoreOptions{}), emb, Options{MaxBodyBytes: 1 << 16, MaxImages: 4})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	f.Add("POST", "/v1/search?k=3", "application/json", []byte(`{"vector": [1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}`))
	f.Add("POST", "/v1/embed", "image/png", pngOf(f, randomImage()))
	f.Add("POST", "/v1/search", "image/gif", []byte("GIF89a\x01\x00\x01\x00"))
	f.Add("GET", "/healthz", "", []byte(nil))
	f.Add("GET", "/metrics", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, target, ct string, body []byte) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(method+target, " \r\n\t") || method == "" {
			return
		}
		req, err := http.NewRequest(method, "http://x"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code == 200 && req.URL.Path == "/metrics" {
			return
		}
		var v map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s → %d, body not JSON: %q", method, target, w.Code, w.Body.Bytes())
		}
		if _, isErr := v["error"]; isErr != (w.Code >= 400) || w.Code >= 500 {
			t.Fatalf("%s %s (%s) → %d %s", method, target, ct, w.Code, w.Body.Bytes())
		}
	})
}
