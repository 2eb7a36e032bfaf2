package index

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/contrastive-go/contrastive/internal/fixture"
	"github.com/contrastive-go/contrastive/modeldir"

	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/train"
)

// writeFolder writes, per class, the n Fashion-MNIST PNGs after the first skip into root.
func writeFolder(t *testing.T, root string, classes, n, skip int) {
	fixture.FashionFolder(t, root, classes, n, skip)
}

// tinyModel trains a very small model for one step on root and returns its directory.
func tinyModel(t *testing.T, root string, seed uint64) *modeldir.ModelDir {
	t.Helper()
	cfg := train.Default()
	cfg.Data = root
	cfg.Out = filepath.Join(t.TempDir(), "model")
	cfg.Epochs, cfg.MaxSteps, cfg.BatchSize, cfg.KNNEvery, cfg.Workers, cfg.Seed = 1, 1, 16, -1, 2, seed
	cfg.Model = models.Config{Name: models.SmallCNNName, PoolGrid: 1, Channels: []int{8, 16}, Strides: []int{2, 2}, Head: models.HeadConfig{Hidden: 16, Out: 8}}
	if _, err := train.Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	md, err := modeldir.Open(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	return md
}

func TestBuildEmbedsAFolderAppendsOnlyNewFilesAndRefusesAnotherModel(t *testing.T) {
	root := t.TempDir()
	writeFolder(t, root, 2, 10, 0)
	md := tinyModel(t, root, 1)
	x, st, err := Build(md, root, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 20 || x.Len() != 20 || x.Dim() != 16 || x.Meta().ImageSize != 28 || x.Meta().Channels != 1 || x.Meta().Features != "h" {
		t.Fatalf("built %+v: %d rows of %d-d, meta %+v", st, x.Len(), x.Dim(), x.Meta())
	}
	if got := x.Meta().Classes; len(got) != 2 || got[0] != "class0" || x.ClassName(19) != "class1" {
		t.Errorf("classes %v, last row's class %q", got, x.ClassName(19))
	}
	// A row's own vector is its best match.
	hits, err := x.Search(x.Vector(3), 1)
	if err != nil || hits[0][0].Row != 3 {
		t.Errorf("self search: %v %v", hits, err)
	}

	writeFolder(t, root, 3, 10, 0) // class0, class1 unchanged; class2 new
	y, st, err := Build(md, root, BuildOptions{Into: x})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 10 || st.Skipped != 20 || y.Len() != 30 || y.ClassName(29) != "class2" {
		t.Errorf("append: %+v, %d rows, last class %q", st, y.Len(), y.ClassName(29))
	}

	other := tinyModel(t, root, 2)
	if _, _, err := Build(other, root, BuildOptions{Into: y}); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("another model's vectors were accepted: %v", err)
	}
	if _, _, err := Build(md, root, BuildOptions{Into: y, Projection: true}); err == nil {
		t.Errorf("z features were added to an index of h")
	}
}
