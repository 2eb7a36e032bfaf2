package serve

import (
	"fmt"
	"path/filepath"

	"github.com/contrastive-go/contrastive/index"
	"github.com/contrastive-go/contrastive/modeldir"
)

// Open loads the model in modelDir and the index at indexPath, checks that the index was made by
// this model (the fingerprint of its weights), and returns a server that embeds images the way
// the index's images were embedded (same size, channels, transform and features).
func Open(modelDir, indexPath string, so index.StoreOptions, eo EmbedderOptions, opt Options) (*Server, error) {
	md, err := modeldir.Open(modelDir)
	if err != nil {
		return nil, err
	}
	fp, err := index.FingerprintFile(filepath.Join(modelDir, modeldir.WeightsFile))
	if err != nil {
		return nil, err
	}
	idx, err := index.OpenStore(indexPath, so)
	if err != nil {
		return nil, err
	}
	if idx.Model() != fp {
		idx.Close()
		return nil, fmt.Errorf("%s and %s do not match: %w: the index holds vectors of another model; rebuild it with 'contrastive index --model %s'", indexPath, modelDir, index.ErrModelMismatch, modelDir)
	}
	meta := idx.Meta()
	eo.Size, eo.Channels = meta.ImageSize, meta.Channels
	if eo.Size == 0 {
		eo.Size = md.Config.ImageSize
	}
	if eo.Channels == 0 {
		eo.Channels = md.Channels()
	}
	if eo.Size == 0 {
		idx.Close()
		return nil, fmt.Errorf("%s does not record the image size and the model was trained at the data's own size: cannot prepare query images", indexPath)
	}
	eo.Projection = meta.Features == "z"
	if eo.Transform, err = md.EvalTransform(eo.Size, eo.Channels); err != nil {
		idx.Close()
		return nil, err
	}
	emb, err := NewEmbedder(md.Model, eo)
	if err != nil {
		idx.Close()
		return nil, err
	}
	s, err := New(idx, emb, opt)
	if err != nil {
		emb.Close()
		idx.Close()
		return nil, err
	}
	return s, nil
}
