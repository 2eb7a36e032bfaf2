package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/index"
	"github.com/contrastive-go/contrastive/models"
)

var testModel = index.Fingerprint([]byte("serve test model"))

// pngOf encodes a [0,1] gray image as PNG.
func pngOf(t testing.TB, im data.Image) []byte {
	g := image.NewGray(image.Rect(0, 0, im.W, im.H))
	for i, v := range im.Pix[:im.W*im.H] {
		g.Pix[i] = uint8(v*255 + 0.5)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fixture is a running server over an index of n Fashion-MNIST test images, embedded by an
// untrained small CNN, with the PNG of each image.
type fixture struct {
	url    string
	srv    *Server
	emb    *Embedder
	pngs   [][]byte
	stop   func()
	client *http.Client
}

func newEmbedder(t testing.TB) *Embedder {
	m, err := models.Build(models.Config{Name: models.SmallCNNName, PoolGrid: 1, InChannels: 1, Channels: []int{8, 16}, Strides: []int{2, 2}, Head: models.HeadConfig{Hidden: 16, Out: 8}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := augment.Eval("small-gray", 28, 1)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEmbedder(m, EmbedderOptions{Size: 28, Channels: 1, Transform: tr, MaxPixels: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newFixture(t testing.TB, n int, opt Options) *fixture {
	t.Helper()
	emb := newEmbedder(t)
	ds, err := data.EmbeddedFashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{emb: emb}
	var imgs []data.Image
	b := index.Batch{Classes: ds.Classes()}
	for i := 0; i < n; i++ {
		s, _ := ds.Get(i)
		p := pngOf(t, s.Image)
		f.pngs = append(f.pngs, p)
		im, err := emb.Prepare(p)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, im)
		b.IDs = append(b.IDs, fmt.Sprintf("img%03d.png", i))
		b.Labels = append(b.Labels, s.Label)
	}
	if b.Vectors, err = emb.Embed(context.Background(), imgs); err != nil {
		t.Fatal(err)
	}
	idx, _ := index.New(index.Meta{Model: testModel, Dim: emb.Dim(), Features: "h", ImageSize: 28, Channels: 1})
	if _, _, err := idx.Add(b); err != nil {
		t.Fatal(err)
	}
	f.srv, err = New(index.NewMemStore(idx, index.StoreOptions{}), emb, opt)
	if err != nil {
		t.Fatal(err)
	}
	f.url, f.stop = start(t, f.srv)
	f.client = &http.Client{Timeout: 30 * time.Second}
	return f
}

// start serves s on a free loopback port and returns its URL and a function that shuts it down
// (also run at the end of the test).
func start(t testing.TB, s *Server) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		s.Close()
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

type reply struct {
	code int
	body []byte
}

func (f *fixture) do(t testing.TB, method, path, contentType string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, b}
}

func multipartBody(t testing.TB, fields map[string]string, files ...[]byte) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for i, f := range files {
		w, _ := mw.CreateFormFile("image", fmt.Sprintf("photo%d.png", i))
		w.Write(f)
	}
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

type searchReply struct {
	K       int      `json:"k"`
	Results []Result `json:"results"`
}

func decode[T any](t testing.TB, r reply) T {
	t.Helper()
	var v T
	if r.code != http.StatusOK {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("reply %s: %v", r.body, err)
	}
	return v
}

func TestSearchByImageFindsTheImageItself(t *testing.T) {
	f := newFixture(t, 40, Options{})
	raw := decode[searchReply](t, f.do(t, "POST", "/v1/search?k=3", "image/png", f.pngs[7]))
	mp, ct := multipartBody(t, map[string]string{"k": "2"}, f.pngs[7])
	form := decode[searchReply](t, f.do(t, "POST", "/v1/search", ct, mp))
	for name, r := range map[string]searchReply{"raw": raw, "multipart": form} {
		if len(r.Results) != r.K || r.Results[0].ID != "img007.png" || math.Abs(float64(r.Results[0].Score)-1) > 1e-4 {
			t.Errorf("%s: %+v", name, r)
		}
		if r.Results[0].Label == "" {
			t.Errorf("%s: no label in %+v", name, r.Results[0])
		}
		for i := 1; i < len(r.Results); i++ {
			if r.Results[i].Score > r.Results[i-1].Score {
				t.Errorf("%s: results not sorted: %+v", name, r.Results)
			}
		}
	}
	if raw.K != 3 || form.K != 2 {
		t.Errorf("k: raw %d, multipart %d", raw.K, form.K)
	}
}

func TestSearchByVectorAndEmbedAgree(t *testing.T) {
	f := newFixture(t, 20, Options{})
	type embedReply struct {
		Dim     int         `json:"dim"`
		Count   int         `json:"count"`
		Names   []string    `json:"names"`
		Vectors [][]float32 `json:"vectors"`
	}
	one := decode[embedReply](t, f.do(t, "POST", "/v1/embed", "application/octet-stream", f.pngs[3]))
	if one.Count != 1 || len(one.Vectors) != 1 || len(one.Vectors[0]) != 16 || one.Dim != 16 {
		t.Fatalf("embed one: %+v", one)
	}
	mp, ct := multipartBody(t, nil, f.pngs[1], f.pngs[3], f.pngs[5])
	three := decode[embedReply](t, f.do(t, "POST", "/v1/embed", ct, mp))
	if three.Count != 3 || len(three.Names) != 3 || three.Names[1] != "photo1.png" {
		t.Fatalf("embed three: count %d names %v", three.Count, three.Names)
	}
	for i, v := range one.Vectors[0] {
		if math.Abs(float64(v-three.Vectors[1][i])) > 1e-4*(1+math.Abs(float64(v))) {
			t.Fatalf("the same image embeds differently alone (%v) and in a batch (%v)", one.Vectors[0], three.Vectors[1])
		}
	}
	body, _ := json.Marshal(map[string]any{"vector": one.Vectors[0], "k": 5})
	r := decode[searchReply](t, f.do(t, "POST", "/v1/search", "application/json", body))
	if len(r.Results) != 5 || r.Results[0].ID != "img003.png" {
		t.Errorf("search by the embedded vector: %+v", r)
	}
	body, _ = json.Marshal(map[string]any{"vector": one.Vectors[0], "k": 100})
	if r := decode[searchReply](t, f.do(t, "POST", "/v1/search", "application/json", body)); len(r.Results) != 20 {
		t.Errorf("k over the index size gave %d results, want all 20", len(r.Results))
	}
}

// bombPNG is a valid PNG header claiming w×h pixels, with no pixel data.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	p := b.Bytes()
	// IHDR width and height are at bytes 16..24; fix its CRC (bytes 29..33) too.
	p[16], p[17], p[18], p[19] = byte(w>>24), byte(w>>16), byte(w>>8), byte(w)
	p[20], p[21], p[22], p[23] = byte(h>>24), byte(h>>16), byte(h>>8), byte(h)
	c := crc32IEEE(p[12:29])
	p[29], p[30], p[31], p[32] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	return p
}

func TestMalformedRequestsGetA4xxWithAJSONError(t *testing.T) {
	f := newFixture(t, 5, Options{MaxBodyBytes: 1 << 16, MaxImages: 2})
	vec := func(n int) []byte { b, _ := json.Marshal(map[string]any{"vector": make([]float32, n)}); return b }
	noFile, noFileCT := multipartBody(t, map[string]string{"k": "3"})
	three, threeCT := multipartBody(t, nil, f.pngs[0], f.pngs[1], f.pngs[2])
	cases := []struct {
		name, method, path, ct string
		body                   []byte
		want                   int
	}{
		{"wrong method", "GET", "/v1/search", "", nil, 405},
		{"unknown path", "GET", "/v2/nothing", "", nil, 404},
		{"no content type", "POST", "/v1/search", "", []byte("x"), 415},
		{"text content type", "POST", "/v1/search", "text/plain", []byte("x"), 415},
		{"bad content type", "POST", "/v1/search", "image/png; ===", []byte("x"), 415},
		{"malformed JSON", "POST", "/v1/search", "application/json", []byte(`{"vector": [1,2`), 400},
		{"JSON trailing data", "POST", "/v1/search", "application/json", append(vec(16), []byte(" {}")...), 400},
		{"unknown JSON field", "POST", "/v1/search", "application/json", []byte(`{"vectr": [1]}`), 400},
		{"no vector", "POST", "/v1/search", "application/json", []byte(`{"k": 3}`), 400},
		{"wrong dimension", "POST", "/v1/search", "application/json", vec(15), 400},
		{"float32 overflow", "POST", "/v1/search", "application/json", []byte(`{"vector": [1e39]}`), 400},
		{"k zero", "POST", "/v1/search", "application/json", []byte(`{"vector": ` + strings.Repeat("0,", 0) + `[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1], "k": 0}`), 400},
		{"k too big", "POST", "/v1/search?k=100000", "image/png", f.pngs[0], 400},
		{"k not a number", "POST", "/v1/search?k=ten", "image/png", f.pngs[0], 400},
		{"not an image", "POST", "/v1/search", "image/png", []byte("hello, world"), 415},
		{"truncated PNG", "POST", "/v1/search", "image/png", f.pngs[0][:60], 400},
		{"empty body", "POST", "/v1/embed", "image/png", nil, 400},
		{"decompression bomb", "POST", "/v1/embed", "image/png", bombPNG(100000, 100000), 413},
		{"body too large", "POST", "/v1/embed", "image/png", make([]byte, 1<<17), 413},
		{"multipart without a file", "POST", "/v1/search", noFileCT, noFile, 400},
		{"multipart without boundary", "POST", "/v1/embed", "multipart/form-data", []byte("--x\r\n"), 400},
		{"multipart garbage", "POST", "/v1/embed", "multipart/form-data; boundary=zzz", []byte("not multipart"), 400},
		{"too many images", "POST", "/v1/embed", threeCT, three, 400},
		{"JSON to embed", "POST", "/v1/embed", "application/json", vec(16), 415},
	}
	for _, c := range cases {
		r := f.do(t, c.method, c.path, c.ct, c.body)
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(r.body, &e); r.code != c.want || err != nil || e.Error == "" {
			t.Errorf("%s: status %d (want %d), body %s", c.name, r.code, c.want, r.body)
		}
	}
	if r := f.do(t, "GET", "/healthz", "", nil); r.code != 200 || !bytes.Contains(r.body, []byte(`"status":"ok"`)) {
		t.Errorf("the server is unhealthy after the bad requests: %d %s", r.code, r.body)
	}
}

func TestMetricsCountRequestsErrorsAndLatency(t *testing.T) {
	f := newFixture(t, 5, Options{})
	f.do(t, "POST", "/v1/search", "image/png", f.pngs[1])
	f.do(t, "POST", "/v1/search", "text/plain", nil)
	f.do(t, "GET", "/healthz", "", nil)
	r := f.do(t, "GET", "/metrics", "", nil)
	for _, want := range []string{
		`contrastive_http_requests_total{path="/v1/search",code="200"} 1`,
		`contrastive_http_requests_total{path="/v1/search",code="415"} 1`,
		`contrastive_http_requests_total{path="/healthz",code="200"} 1`,
		`contrastive_http_request_errors_total{path="/v1/search"} 1`,
		`# TYPE contrastive_http_request_duration_seconds histogram`,
		`contrastive_http_request_duration_seconds_bucket{path="/v1/search",le="+Inf"} 2`,
		`contrastive_http_request_duration_seconds_count{path="/v1/search"} 2`,
		`contrastive_index_vectors 5`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %q:\n%s", want, r.body)
		}
	}
}

func TestShutdownLetsARequestInFlightFinish(t *testing.T) {
	f := newFixture(t, 5, Options{})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", f.url+"/v1/search?k=1", pr)
	req.Header.Set("Content-Type", "image/png")
	type result struct {
		code int
		err  error
	}
	got := make(chan result, 1)
	go func() {
		res, err := f.client.Do(req)
		if err != nil {
			got <- result{0, err}
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		got <- result{res.StatusCode, nil}
	}()
	pw.Write(f.pngs[2][:10]) // the request is in flight, its body half sent
	time.Sleep(100 * time.Millisecond)
	stopped := make(chan struct{})
	go func() { f.stop(); close(stopped) }()
	time.Sleep(100 * time.Millisecond)
	pw.Write(f.pngs[2][10:])
	pw.Close()
	r := <-got
	if r.err != nil || r.code != 200 {
		t.Errorf("the request in flight during shutdown: %d %v", r.code, r.err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the shutdown")
	}
	if _, err := f.client.Get(f.url + "/healthz"); err == nil {
		t.Errorf("the server still answers after shutdown")
	}
}

func TestAQueryVectorWithoutDirectionGetsA400(t *testing.T) {
	f := newFixture(t, 10, Options{})
	d := f.emb.Dim()
	tiny := make([]string, d)
	zero := make([]string, d)
	for i := range tiny {
		tiny[i], zero[i] = "1e-45", "0"
	}
	for name, vec := range map[string][]string{"all 1e-45": tiny, "all zero": zero} {
		body := `{"vector": [` + strings.Join(vec, ",") + `], "k": 3}`
		r := f.do(t, "POST", "/v1/search", "application/json", []byte(body))
		var e struct{ Error string }
		json.Unmarshal(r.body, &e)
		if r.code != http.StatusBadRequest || !strings.Contains(e.Error, "no direction") || strings.Count(e.Error, ". ") > 0 {
			t.Errorf("%s: status %d, body %s; want 400 saying the vector has no direction", name, r.code, r.body)
		}
	}
}

func TestAnAnswerThatCannotBeEncodedIsAnError(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := writeJSON(rec, http.StatusOK, map[string]float32{"score": float32(math.NaN())}); err == nil {
		t.Fatal("writeJSON encoded a NaN without an error")
	}
	if rec.Body.Len() != 0 || rec.Code != http.StatusOK && rec.Code != 0 {
		t.Errorf("writeJSON wrote %d %q before failing", rec.Code, rec.Body.String())
	}
}
