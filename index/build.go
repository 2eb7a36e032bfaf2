package index

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/infer"
	"github.com/contrastive-go/contrastive/modeldir"
)

// BuildOptions control Build.
type BuildOptions struct {
	// Into, when set, is an existing index to add to; it must have been made by the same model
	// with the same features. Items whose id it already holds are not embedded again.
	Into *Index
	// Store, when set instead of Into, is an open store to add to: the same checks as Into, its
	// items are not embedded again, and Build returns a new Index holding only the new items
	// (for Store.Add).
	Store *Store
	// Projection stores z = head(h) instead of the encoder's h (the default, and what is
	// evaluated downstream).
	Projection bool
	// BatchSize is the number of images per forward pass (default 256).
	BatchSize int
	// SkipBad skips files that cannot be read instead of failing.
	SkipBad bool
	// Log receives progress and the list of skipped files; nil is silent.
	Log io.Writer
}

// BuildStats says what Build did.
type BuildStats struct {
	Added, Skipped int // new rows; rows whose id was already in the index
}

// FeaturesName names the stored output: "z" with projection, "h" without.
func FeaturesName(projection bool) string {
	if projection {
		return "z"
	}
	return "h"
}

// Build embeds the dataset spec (an image folder, fashion-mnist, ...; see data.OpenForModel) with the
// model md and returns the index holding its vectors: a new one, or opt.Into with the new items
// added. Images are prepared as for evaluation: decoded to the model's channels, resized to the
// training image size (or the data's own size, or the existing index's size), then the model's
// evaluation transform.
func Build(md *modeldir.ModelDir, spec string, opt BuildOptions) (*Index, BuildStats, error) {
	var st BuildStats
	fp, err := FingerprintFile(filepath.Join(md.Dir, modeldir.WeightsFile))
	if err != nil {
		return nil, st, err
	}
	features := FeaturesName(opt.Projection)
	ch := md.Channels()
	size := md.Config.ImageSize
	x := opt.Into
	var has func(string) bool
	var like *Meta
	if x != nil {
		has, like = x.Has, &x.meta
	} else if opt.Store != nil {
		m := opt.Store.Meta()
		has, like = opt.Store.Has, &m
	}
	if like != nil {
		if like.Model != fp {
			return nil, st, fmt.Errorf("%w: the index holds vectors of model %s but this model is %s (model directory %s); build a new index for this model", ErrModelMismatch, short(like.Model), short(fp), md.Dir)
		}
		if f := like.Features; f != "" && f != features {
			return nil, st, fmt.Errorf("the index holds %s features; add to it with the same choice of --projection", f)
		}
		if like.Channels != 0 && like.Channels != ch {
			return nil, st, fmt.Errorf("the index was made from %d-channel images but the model takes %d", like.Channels, ch)
		}
		if like.ImageSize > 0 {
			size = like.ImageSize
		}
	}
	ds, err := data.OpenForModel(spec, data.ModelOptions{Channels: ch, Size: size, SkipBad: opt.SkipBad}, opt.Log)
	if err != nil {
		return nil, st, err
	}
	total := ds.Len()
	if has != nil {
		if p, ok := ds.(interface{ Paths() []string }); ok {
			var keep []int
			for i, id := range p.Paths() {
				if !has(id) {
					keep = append(keep, i)
				}
			}
			st.Skipped = total - len(keep)
			if len(keep) == 0 {
				if x == nil {
					x, _ = New(*like)
				}
				return x, st, nil
			}
			if len(keep) < total {
				ds = data.Subset(ds, keep)
			}
		}
	}
	first, err := ds.Get(0)
	if err != nil {
		return nil, st, err
	}
	if first.Image.H != first.Image.W {
		return nil, st, fmt.Errorf("%s has %dx%d images; give the model a square size (train with --image-size)", spec, first.Image.W, first.Image.H)
	}
	size = first.Image.H
	t, err := md.EvalTransform(size, first.Image.C)
	if err != nil {
		return nil, st, err
	}
	bs := opt.BatchSize
	if bs <= 0 {
		bs = 256
	}
	res, err := infer.Embed(md.Model, ds, t, infer.Options{BatchSize: bs, Projection: opt.Projection, Progress: func(done, n int) {
		if opt.Log != nil && (done == n || done%(bs*20) < bs) {
			fmt.Fprintf(opt.Log, "embedded %d/%d images\n", done, n)
		}
	}})
	if err != nil {
		return nil, st, err
	}
	if like != nil && like.Dim != res.D {
		return nil, st, fmt.Errorf("the index holds %d-d vectors but the model gives %d-d %s", like.Dim, res.D, features)
	}
	if x == nil {
		x, err = New(Meta{Model: fp, Dim: res.D, Features: features, ImageSize: size, Channels: ch})
		if err != nil {
			return nil, st, err
		}
	} else if x.Dim() != res.D {
		return nil, st, fmt.Errorf("the index holds %d-d vectors but the model gives %d-d %s", x.Dim(), res.D, features)
	}
	if x.meta.ImageSize == 0 {
		x.meta.ImageSize, x.meta.Channels = size, ch
	}
	b := Batch{Vectors: res.Data, IDs: res.IDs, Classes: ds.Classes()}
	if b.Classes != nil {
		b.Labels = res.Labels
	}
	added, skipped, err := x.Add(b)
	if err != nil {
		return nil, st, err
	}
	st.Added, st.Skipped = added, st.Skipped+skipped
	return x, st, nil
}

// short abbreviates a fingerprint for messages.
func short(fp string) string {
	if len(fp) > len(fingerprintPrefix)+12 {
		return fp[:len(fingerprintPrefix)+12] + "…"
	}
	return fp
}

// CheckModel returns an error wrapping ErrModelMismatch unless the index was made by the model
// whose weights file has fingerprint fp.
func (x *Index) CheckModel(fp string) error {
	if x.Model() != fp {
		return fmt.Errorf("%w: the index holds vectors of model %s but this model is %s", ErrModelMismatch, short(x.Model()), short(fp))
	}
	return nil
}
