// Command views writes the embeddings of n augmented views of Fashion-MNIST (its 60,000 train
// and 10,000 test images) by a trained model, the 1M-vector set of the ANN benchmark (issue 12,
// data (b)): vectors with the structure of real embeddings rather than uniform noise.
//
//	go run ./bench/ann/views -model DIR -n 1000000 -out views.npy [-augment small-gray] [-seed 1] [-features z] [-first 0]
//
// Row i is view v = i / 70000 of image b = i mod 70000: view 0 is the image itself, view v > 0
// the model's training augmentation (-augment) drawn with augment.SampleRNG(seed, v, b, 0).
// Every row then goes through the model's evaluation transform, as contrastive embed does.
// -first F writes rows F to F+n-1 instead, so that a larger set can be made in parts.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/contrastive-go/contrastive/augment"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/infer"
	"github.com/contrastive-go/contrastive/modeldir"
)

func main() {
	dir := flag.String("model", "", "model directory written by train")
	n := flag.Int("n", 1_000_000, "rows to write")
	out := flag.String("out", "views.npy", "output .npy (float32 [n, D])")
	preset := flag.String("augment", "", "augmentation preset of the views (default: the model's)")
	seed := flag.Uint64("seed", 1, "seed of the views' augmentations")
	features := flag.String("features", "z", "z (the projection) or h (the encoder's features)")
	first := flag.Int("first", 0, "first row to write")
	flag.Parse()
	if *n <= 0 || *first < 0 {
		fmt.Fprintln(os.Stderr, "views: -n must be positive and -first not negative")
		os.Exit(2)
	}
	if err := run(*dir, *n, *first, *out, *preset, *seed, *features == "z"); err != nil {
		fmt.Fprintln(os.Stderr, "views:", err)
		os.Exit(1)
	}
}

// views is the dataset of n rows over base from row first on: row i is view i/len(base) of
// image i mod len(base).
type views struct {
	base  []data.Sample
	n     int
	first int
	aug   augment.Transform
	seed  uint64
}

func (v *views) Len() int          { return v.n }
func (v *views) Classes() []string { return nil }

func (v *views) Get(i int) (data.Sample, error) {
	i += v.first
	b, k := i%len(v.base), i/len(v.base)
	s := v.base[b]
	if k > 0 {
		s.Image = v.aug.Apply(s.Image, augment.SampleRNG(v.seed, k, b, 0))
	}
	s.ID = fmt.Sprintf("%d/%d", b, k)
	return s, nil
}

func run(dir string, n, first int, out, preset string, seed uint64, projection bool) error {
	md, err := modeldir.Open(dir)
	if err != nil {
		return err
	}
	if preset == "" {
		preset = md.Config.Augment
	}
	var base []data.Sample
	for _, spec := range []string{"fashion-mnist", "fashion-mnist:test"} {
		ds, err := data.OpenForModel(spec, data.ModelOptions{Channels: md.Channels(), Size: md.Config.ImageSize}, os.Stderr)
		if err != nil {
			return err
		}
		for i := 0; i < ds.Len(); i++ {
			s, err := ds.Get(i)
			if err != nil {
				return err
			}
			base = append(base, s)
		}
	}
	img := base[0].Image
	ts, err := augment.Preset(preset, img.H, img.C)
	if err != nil {
		return err
	}
	t, err := md.EvalTransform(img.H, img.C)
	if err != nil {
		return err
	}
	start, last := time.Now(), time.Now()
	res, err := infer.Embed(md.Model, &views{base: base, n: n, first: first, aug: ts[0], seed: seed}, t, infer.Options{Projection: projection,
		Progress: func(done, total int) {
			if now := time.Now(); done == total || now.Sub(last) > 10*time.Second {
				last = now
				fmt.Fprintf(os.Stderr, "views: embedded %d/%d (%.0f/s)\n", done, total, float64(done)/now.Sub(start).Seconds())
			}
		}})
	if err != nil {
		return err
	}
	if err := data.WriteNPYFile(out, res.Data, res.N, res.D); err != nil {
		return err
	}
	fmt.Printf("{\"what\":\"views\",\"first\":%d,\"n\":%d,\"d\":%d,\"base\":%d,\"augment\":%q,\"seconds\":%.1f,\"out\":%q}\n", first, res.N, res.D, len(base), preset, time.Since(start).Seconds(), out)
	return nil
}
