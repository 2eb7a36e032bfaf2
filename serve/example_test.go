package serve_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/contrastive-go/contrastive/index"
	"github.com/contrastive-go/contrastive/serve"
)

// A Server is an http.Handler over an index: POST /v1/search with a JSON vector answers the k
// nearest items. (serve.Open loads a model directory too, so that images can be searched.)
func Example() {
	x, err := index.New(index.Meta{Model: index.Fingerprint([]byte("model weights")), Dim: 2})
	if err != nil {
		panic(err)
	}
	if _, _, err := x.Add(index.Batch{Vectors: []float32{1, 0, 0, 1, 1, 1}, IDs: []string{"a", "b", "c"}}); err != nil {
		panic(err)
	}
	s, err := serve.New(index.NewMemStore(x, index.StoreOptions{}), nil, serve.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	req := httptest.NewRequest("POST", "/v1/search", strings.NewReader(`{"vector": [1, 0.2], "k": 2}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)

	var answer struct {
		Results []serve.Result `json:"results"`
	}
	if err := json.NewDecoder(rec.Body).Decode(&answer); err != nil {
		panic(err)
	}
	fmt.Println(rec.Code)
	for _, r := range answer.Results {
		fmt.Printf("%s %.3f\n", r.ID, r.Score)
	}
	// Output:
	// 200
	// a 0.981
	// c 0.832
}
