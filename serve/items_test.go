package serve

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/index"
)

const testToken = "0123456789abcdef-token"

func (f *fixture) doAuth(t testing.TB, method, path, token, contentType, body string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return reply{res.StatusCode, []byte(b.String())}
}

func vectorJSON(v []float32) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestWritesNeedTheTokenAndChangeNothingWithout(t *testing.T) {
	f := newFixture(t, 20, Options{Token: testToken})
	d := f.emb.Dim()
	v := make([]float32, d)
	v[0], v[1] = 1, 0.5
	add := `{"items": [{"id": "new-1", "vector": ` + vectorJSON(v) + `, "label": "fresh"}]}`
	for _, tok := range []string{"", "wrong-token-0123456789", testToken + "x", strings.ToUpper(testToken)} {
		if r := f.doAuth(t, "POST", "/v1/items", tok, "application/json", add); r.code != http.StatusUnauthorized {
			t.Errorf("add with token %q: %d %s, want 401", tok, r.code, r.body)
		}
		if r := f.doAuth(t, "DELETE", "/v1/items/img003.png", tok, "", ""); r.code != http.StatusUnauthorized {
			t.Errorf("delete with token %q: %d %s, want 401", tok, r.code, r.body)
		}
	}
	if f.srv.idx.Len() != 20 || f.srv.idx.Has("new-1") || !f.srv.idx.Has("img003.png") {
		t.Fatalf("refused writes changed the index: %d items", f.srv.idx.Len())
	}
	// With the token: the added item is found by its vector, the deleted one never comes back.
	if r := f.doAuth(t, "POST", "/v1/items", testToken, "application/json", add); r.code != http.StatusOK {
		t.Fatalf("add: %d %s", r.code, r.body)
	}
	q := `{"vector": ` + vectorJSON(v) + `, "k": 3}`
	res := decode[searchReply](t, f.do(t, "POST", "/v1/search", "application/json", []byte(q)))
	if res.Results[0].ID != "new-1" || res.Results[0].Label != "fresh" {
		t.Errorf("the added item is not found by its own vector: %+v", res.Results)
	}
	if r := f.doAuth(t, "DELETE", "/v1/items/img003.png", testToken, "", ""); r.code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	if r := f.doAuth(t, "DELETE", "/v1/items/img003.png", testToken, "", ""); r.code != http.StatusNotFound {
		t.Errorf("second delete: %d, want 404", r.code)
	}
	for _, exact := range []string{"", "?exact=true"} {
		res := decode[searchReply](t, f.do(t, "POST", "/v1/search?k=20"+strings.Replace(exact, "?", "&", 1), "image/png", f.pngs[3]))
		for _, r := range res.Results {
			if r.ID == "img003.png" {
				t.Errorf("%s: the deleted item came back", exact)
			}
		}
	}
	// An image added under its file name is found by that image.
	mp, ct := multipartBody(t, nil, f.pngs[5])
	if r := f.doAuth(t, "POST", "/v1/items", testToken, ct, string(mp)); r.code != http.StatusOK {
		t.Fatalf("add image: %d %s", r.code, r.body)
	}
	res = decode[searchReply](t, f.do(t, "POST", "/v1/search?k=2", "image/png", f.pngs[5]))
	if got := []string{res.Results[0].ID, res.Results[1].ID}; !(got[0] == "photo0.png" || got[1] == "photo0.png") {
		t.Errorf("the added image is not found by itself: %v", got)
	}
	m := string(f.do(t, "GET", "/metrics", "", nil).body)
	for _, want := range []string{"contrastive_index_vectors 21", "contrastive_index_tombstones 1", "contrastive_index_log_records 3", "contrastive_index_bytes_per_vector"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestWritesAreRefusedWithoutATokenFileAndReadsCanBeProtected(t *testing.T) {
	f := newFixture(t, 5, Options{})
	if r := f.doAuth(t, "POST", "/v1/items", "anything", "application/json", `{"items": []}`); r.code != http.StatusUnauthorized || !strings.Contains(string(r.body), "--token-file") {
		t.Errorf("a server without a token accepted a write: %d %s", r.code, r.body)
	}
	g := newFixture(t, 5, Options{Token: testToken, ProtectReads: true})
	if r := g.do(t, "POST", "/v1/search?k=2", "image/png", g.pngs[1]); r.code != http.StatusUnauthorized {
		t.Errorf("protected read without token: %d", r.code)
	}
	if r := g.doAuth(t, "POST", "/v1/search?k=2", testToken, "image/png", string(g.pngs[1])); r.code != http.StatusOK {
		t.Errorf("protected read with token: %d %s", r.code, r.body)
	}
	if r := g.do(t, "GET", "/healthz", "", nil); r.code != http.StatusOK {
		t.Errorf("healthz: %d", r.code)
	}
}

func TestGraphIndexAnswersApproximatelyExactOnRequestAndEstimatesRecall(t *testing.T) {
	const n, d = 3000, 16
	x := randomIndex(t, n, d)
	if _, _, err := x.BuildANN(index.ANNOptions{Kind: index.KindHNSW, M: 8, EfConstruction: 50}); err != nil {
		t.Fatal(err)
	}
	srv, err := New(index.NewMemStore(x, index.StoreOptions{}), nil, Options{RecallSample: 1})
	if err != nil {
		t.Fatal(err)
	}
	url, _ := start(t, srv)
	f := &fixture{url: url, srv: srv, client: &http.Client{}}
	for i := 0; i < 30; i++ {
		q := `{"vector": ` + vectorJSON(x.Vector(i*50)) + `, "k": 5}`
		var r struct {
			Exact   bool
			Results []Result
		}
		ex := decode[struct{ Exact bool }](t, f.do(t, "POST", "/v1/search?exact=true", "application/json", []byte(q)))
		r = decode[struct {
			Exact   bool
			Results []Result
		}](t, f.do(t, "POST", "/v1/search", "application/json", []byte(q)))
		if r.Exact || !ex.Exact {
			t.Fatalf("exact flags: graph search %v, ?exact=true %v", r.Exact, ex.Exact)
		}
		if r.Results[0].ID != x.ID(i*50) {
			t.Logf("graph search missed %s", x.ID(i*50))
		}
	}
	srv.recall.wait()
	if n, mean := srv.recall.value(); n == 0 || mean < 0.8 || mean > 1 {
		t.Errorf("recall estimate %.3f over %d samples", mean, n)
	}
	if m := string(f.do(t, "GET", "/metrics", "", nil).body); !strings.Contains(m, "contrastive_ann_recall_estimate") {
		t.Errorf("/metrics lacks the recall estimate")
	}
}
