package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/contrastive-go/contrastive/index"
)

func init() {
	register("index", "embed a collection into a similarity-search index (or add to one)", runIndex)
}

// indexResult is what index reports with --json.
type indexResult struct {
	Index    string  `json:"index"`
	Added    int     `json:"added"`
	Skipped  int     `json:"skipped"`
	Vectors  int     `json:"vectors"`
	Dim      int     `json:"dim"`
	Features string  `json:"features"`
	Model    string  `json:"model"`
	Seconds  float64 `json:"seconds"`
}

func runIndex(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("index", "index --model DIR --data FOLDER --out INDEX [--json]", stderr)
	dir := fs.String("model", "", "model directory written by train")
	spec := fs.String("data", "", "collection to embed: an image folder (class subfolders give labels), fashion-mnist[:test], ...")
	out := fs.String("out", "", "index file to write; when it exists, new items are added to it (it must come from the same model)")
	fresh := fs.Bool("overwrite", false, "replace an existing --out instead of adding to it")
	projection := fs.Bool("projection", false, "store the projection z instead of the encoder's h")
	var batch, size int
	intFlag(fs, &batch, "batch-size", 256, positiveInt, "images per forward pass")
	imageSizeFlag(fs, &size)
	skipBad := fs.Bool("skip-bad", false, "skip files that cannot be read instead of failing")
	jsonOut := fs.Bool("json", false, "print the result as JSON on stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *spec == "" || *out == "" {
		return fmt.Errorf("--model, --data and --out are required (contrastive index --model DIR --data FOLDER --out INDEX)")
	}
	start := time.Now()
	md, err := openModelDir(*dir, size)
	if err != nil {
		return err
	}
	opt := index.BuildOptions{Projection: *projection, BatchSize: batch, SkipBad: *skipBad, Log: stderr}
	if !*fresh {
		if x, err := index.Open(*out); err == nil {
			opt.Into = x
			fmt.Fprintf(stderr, "adding to %s (%d vectors)\n", *out, x.Len())
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w (use --overwrite to replace it)", err)
		}
	}
	x, st, err := index.Build(md, *spec, opt)
	if err != nil {
		return err
	}
	if err := x.Save(*out); err != nil {
		return err
	}
	res := indexResult{Index: *out, Added: st.Added, Skipped: st.Skipped, Vectors: x.Len(), Dim: x.Dim(),
		Features: x.Meta().Features, Model: x.Model(), Seconds: time.Since(start).Seconds()}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s: %d vectors of %d-d %s (added %d, %d already indexed) in %.1fs\n", *out, res.Vectors, res.Dim, res.Features, res.Added, res.Skipped, res.Seconds)
	return nil
}
