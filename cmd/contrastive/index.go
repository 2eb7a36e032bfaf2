package main

import (
	"encoding/json"
	"errors"
	"flag"
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
	Index          string  `json:"index"`
	Added          int     `json:"added"`
	Skipped        int     `json:"skipped"`
	Vectors        int     `json:"vectors"`
	Dim            int     `json:"dim"`
	Features       string  `json:"features"`
	Model          string  `json:"model"`
	Kind           string  `json:"kind"`
	KindWhy        string  `json:"kind_why,omitempty"`
	Quantize       string  `json:"quantize"`
	LogRecords     int     `json:"log_records"`
	BytesPerVector float64 `json:"bytes_per_vector"`
	Seconds        float64 `json:"seconds"`
}

// annFlags are the approximate-index flags of index.
type annFlags struct {
	kind, quantize *string
	m, efC, efS    int
	compact        *bool
}

func addANNFlags(fs *flag.FlagSet) *annFlags {
	a := &annFlags{}
	a.kind = fs.String("kind", index.KindAuto, "index kind: hnsw (approximate graph), exact, or auto (exact under 20000 vectors, hnsw above)")
	intFlag(fs, &a.m, "m", index.DefaultM, between(2, index.MaxM), "HNSW neighbours per node (2M on the bottom level)")
	intFlag(fs, &a.efC, "ef-construction", index.DefaultEfConstruction, between(1, index.MaxEf), "HNSW candidates searched when inserting")
	intFlag(fs, &a.efS, "ef-search", index.DefaultEfSearch, between(1, index.MaxEf), "HNSW candidates searched per query (stored as the index's default)")
	a.quantize = fs.String("quantize", index.QuantizeNone, "store int8 scalar-quantised codes to walk the graph on (re-ranked by float32): none or sq8")
	a.compact = fs.Bool("compact", false, "fold the update log into the index file (alone: compact --out and exit)")
	return a
}

func (a *annFlags) check() error {
	switch *a.kind {
	case index.KindAuto, index.KindExact, index.KindHNSW:
	default:
		return fmt.Errorf("--kind must be hnsw, exact or auto, got %q", *a.kind)
	}
	if *a.quantize != index.QuantizeNone && *a.quantize != index.QuantizeSQ8 {
		return fmt.Errorf("--quantize must be none or sq8, got %q", *a.quantize)
	}
	return nil
}

func (a *annFlags) options(log io.Writer) index.ANNOptions {
	return index.ANNOptions{Kind: *a.kind, M: a.m, EfConstruction: a.efC, EfSearch: a.efS, Quantize: *a.quantize, Log: log}
}

func runIndex(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("index", "index --model DIR --data FOLDER --out INDEX [--kind auto|hnsw|exact] [--json]  |  index --compact --out INDEX", stderr)
	dir := fs.String("model", "", "model directory written by train")
	spec := fs.String("data", "", "collection to embed: an image folder (class subfolders give labels), fashion-mnist[:test], ...")
	out := fs.String("out", "", "index file to write; when it exists, new items are added to its update log (it must come from the same model)")
	fresh := fs.Bool("overwrite", false, "replace an existing --out (and its update log) instead of adding to it")
	projection := fs.Bool("projection", false, "store the projection z instead of the encoder's h")
	var batch, size int
	intFlag(fs, &batch, "batch-size", 256, positiveInt, "images per forward pass")
	imageSizeFlag(fs, &size)
	skipBad := fs.Bool("skip-bad", false, "skip files that cannot be read instead of failing")
	jsonOut := fs.Bool("json", false, "print the result as JSON on stdout")
	ann := addANNFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := ann.check(); err != nil {
		return err
	}
	start := time.Now()
	if *ann.compact && *dir == "" && *spec == "" {
		if *out == "" {
			return fmt.Errorf("--out is required (contrastive index --compact --out INDEX)")
		}
		s, err := index.OpenStore(*out, index.StoreOptions{Log: stderr})
		if err != nil {
			return err
		}
		defer s.Close()
		before := s.Stats()
		if err := s.Compact(); err != nil {
			return err
		}
		st := s.Stats()
		fmt.Fprintf(stdout, "%s: compacted %d log records and %d deleted items into %d items (%s) in %.1fs\n", *out, before.LogRecords, before.Tombstones, st.Items, st.Kind, time.Since(start).Seconds())
		return nil
	}
	if *dir == "" || *spec == "" || *out == "" {
		return fmt.Errorf("--model, --data and --out are required (contrastive index --model DIR --data FOLDER --out INDEX)")
	}
	md, err := openModelDir(*dir, size)
	if err != nil {
		return err
	}
	opt := index.BuildOptions{Projection: *projection, BatchSize: batch, SkipBad: *skipBad, Log: stderr}
	var store *index.Store
	if !*fresh {
		if _, err := os.Stat(*out); err == nil {
			if store, err = index.OpenStore(*out, index.StoreOptions{Log: stderr}); err != nil {
				return fmt.Errorf("%w (use --overwrite to replace it)", err)
			}
			defer store.Close()
			opt.Store = store
			fmt.Fprintf(stderr, "adding to %s (%d vectors, %s)\n", *out, store.Len(), store.Kind())
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("opening index: %w", err)
		}
	}
	x, st, err := index.Build(md, *spec, opt)
	if err != nil {
		return err
	}
	res := indexResult{Index: *out, Added: st.Added, Skipped: st.Skipped, Features: x.Meta().Features, Model: x.Model()}
	var stats index.Stats
	if store != nil {
		if _, err := store.AddIndex(x); err != nil {
			return err
		}
		if *ann.compact {
			if err := store.Compact(); err != nil {
				return err
			}
		}
		stats = store.Stats()
	} else {
		kind, why, err := x.BuildANN(ann.options(stderr))
		if err != nil {
			return err
		}
		res.KindWhy = why
		fmt.Fprintf(stderr, "index kind %s: %s\n", kind, why)
		if err := x.Save(*out); err != nil {
			return err
		}
		if err := os.Remove(index.LogPath(*out)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the old update log: %w", err)
		}
		s := index.NewMemStore(x, index.StoreOptions{})
		stats = s.Stats()
	}
	res.Vectors, res.Dim, res.Kind, res.Quantize, res.LogRecords, res.BytesPerVector = stats.Items, stats.Dim, stats.Kind, stats.Quantize, stats.LogRecords, stats.BytesPerVector
	res.Seconds = time.Since(start).Seconds()
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s: %d vectors of %d-d %s, %s index (quantize %s, ~%.0f bytes per vector in memory; added %d, %d already indexed, %d in the update log) in %.1fs\n",
		*out, res.Vectors, res.Dim, res.Features, res.Kind, res.Quantize, res.BytesPerVector, res.Added, res.Skipped, res.LogRecords, res.Seconds)
	return nil
}
