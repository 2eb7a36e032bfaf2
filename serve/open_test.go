package serve

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/index"
	testfixture "github.com/contrastive-go/contrastive/internal/fixture"
	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/train"
)

func trainTiny(t *testing.T, root string, seed uint64) string {
	t.Helper()
	cfg := train.Default()
	cfg.Data, cfg.Out = root, filepath.Join(t.TempDir(), "model")
	cfg.Epochs, cfg.MaxSteps, cfg.BatchSize, cfg.KNNEvery, cfg.Workers, cfg.Seed = 1, 1, 16, -1, 2, seed
	cfg.Model = models.Config{Name: models.SmallCNNName, PoolGrid: 1, Channels: []int{8, 16}, Strides: []int{2, 2}, Head: models.HeadConfig{Hidden: 16, Out: 8}}
	if _, err := train.Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	return cfg.Out
}

func TestOpenServesAnIndexBuiltByItsModelAndRefusesAnotherModel(t *testing.T) {
	root := t.TempDir()
	testfixture.FashionFolder(t, root, 2, 8, 0)
	modelDir := trainTiny(t, root, 1)
	md, err := modeldir.Open(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	x, _, err := index.Build(md, root, index.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "photos.idx")
	if err := x.Save(path); err != nil {
		t.Fatal(err)
	}
	s, err := Open(modelDir, path, index.StoreOptions{}, EmbedderOptions{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	url, _ := start(t, s)
	f := &fixture{url: url, client: http.DefaultClient}
	img, _ := os.ReadFile(x.ID(5))
	r := decode[searchReply](t, f.do(t, "POST", "/v1/search?k=1", "image/png", img))
	if r.Results[0].ID != x.ID(5) || r.Results[0].Label != x.ClassName(5) {
		t.Errorf("searching with %s found %+v", x.ID(5), r.Results)
	}

	other := trainTiny(t, root, 2)
	if _, err := Open(other, path, index.StoreOptions{}, EmbedderOptions{}, Options{}); !errors.Is(err, index.ErrModelMismatch) {
		t.Errorf("an index of another model was served: %v", err)
	}
}

func TestConcurrentEmbedsShareForwardPassesAndMatchSingleOnes(t *testing.T) {
	emb := newEmbedder(t)
	defer emb.Close()
	ds, _ := data.EmbeddedFashionMNIST()
	const n = 48
	imgs := make([]data.Image, n)
	for i := range imgs {
		s, _ := ds.Get(i)
		imgs[i], _ = emb.Prepare(pngOf(t, s.Image))
	}
	want, err := emb.Embed(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	before := emb.batches.Load()
	var wg sync.WaitGroup
	got := make([][]float32, n)
	for i := range imgs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			got[i], _ = emb.Embed(context.Background(), imgs[i:i+1])
		}(i)
	}
	wg.Wait()
	d := emb.Dim()
	for i := range got {
		for j, v := range got[i] {
			if w := want[i*d+j]; v-w > 1e-4 || w-v > 1e-4 {
				t.Fatalf("image %d embedded alone differs from the batch: %v vs %v", i, v, w)
			}
		}
	}
	t.Logf("%d concurrent single-image requests ran in %d forward passes", n, emb.batches.Load()-before)
}
