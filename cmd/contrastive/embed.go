package main

// contrastive embed: a dataset's features as a file other tools read.
//
// Output formats (chosen by --format, else by the extension of --out):
//
//	npy          FILE: float32 [N, D] (.npy version 1.0, C order), plus two siblings named after
//	             FILE without its extension, <base>: <base>.ids.txt with one sample id per line
//	             (row order; a newline inside an id is written as \n) and, when the data is
//	             labelled, <base>.labels.npy: int64 [N] class indices (-1 for an unlabelled sample).
//	csv          header id,label,f0,...,f{D-1}, one row per sample; label is the class index, empty
//	             when the data is unlabelled; floats in the shortest form that reads back exactly.
//	safetensors  tensor "embeddings" F32 [N, D] and, when labelled, "labels" I64 [N]; metadata
//	             (strings): "features" (h or z), "model", "data", "n", "dim", "classes" (a JSON
//	             array of class names, when labelled) and "ids" (a JSON array of the ids) when
//	             that array is at most 1 MiB, else "ids_file" naming the sibling <base>.ids.txt.
//
// Every file is written atomically (a temporary file renamed into place), siblings first.

import (
	"bufio"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/infer"
	"github.com/contrastive-go/contrastive/internal/atomicfile"
	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/safetensors"
	"github.com/contrastive-go/contrastive/tensor"
)

func init() {
	register("embed", "write a dataset's embeddings (h, or z with --projection) as npy, csv or safetensors", runEmbed)
}

// embedResult is what embed reports with --json; the keys are part of the CLI's interface.
type embedResult struct {
	N        int      `json:"n"`
	Dim      int      `json:"dim"`
	Out      string   `json:"out"`
	Format   string   `json:"format"`
	Features string   `json:"features"` // "h" or "z"
	Files    []string `json:"files"`    // every file written, the main one first
}

// embedFormats are the output formats and the extensions that select them.
var embedFormats = map[string]string{".npy": "npy", ".csv": "csv", ".safetensors": "safetensors", ".st": "safetensors"}

// maxMetadataIDs is the largest JSON array of ids stored in safetensors metadata.
const maxMetadataIDs = 1 << 20

func runEmbed(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("embed", "embed --model DIR [--data PATH] --out FILE [--format npy|csv|safetensors] [--projection] [--json]", stderr)
	dir := fs.String("model", "", "model directory written by train")
	spec := fs.String("data", "", "dataset to embed: fashion-mnist[:test], an image folder, CSV, .npy, ... (default: the model's training data)")
	out := fs.String("out", "", "output file (.npy, .csv or .safetensors)")
	format := fs.String("format", "", "npy|csv|safetensors (default: from the extension of --out)")
	projection := fs.Bool("projection", false, "write the projection z instead of the encoder features h")
	skipBad := fs.Bool("skip-bad", false, "skip unreadable images instead of failing")
	jsonOut := fs.Bool("json", false, "print the result as JSON on stdout")
	var size int
	imageSizeFlag(fs, &size)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("--model is required (a directory written by 'contrastive train')")
	}
	if *out == "" {
		return fmt.Errorf("--out is required (a .npy, .csv or .safetensors file)")
	}
	f, err := embedFormat(*out, *format)
	if err != nil {
		return err
	}
	md, err := openModelDir(*dir, size)
	if err != nil {
		return err
	}
	if *spec == "" {
		*spec = md.Config.Data
	}
	res, classes, err := embedDataset(md, *spec, *projection, *skipBad, stderr)
	if err != nil {
		return err
	}
	files, err := writeEmbeddings(res, *out, f, embedMeta{model: *dir, data: *spec, projection: *projection, classes: classes})
	if err != nil {
		return err
	}
	r := embedResult{N: res.N, Dim: res.D, Out: *out, Format: f, Features: featureName(*projection), Files: files}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "wrote %d embeddings (%s, %d-d) of %s to %s", r.N, r.Features, r.Dim, *spec, *out)
	if len(files) > 1 {
		fmt.Fprintf(stdout, " (with %s)", strings.Join(files[1:], ", "))
	}
	fmt.Fprintln(stdout)
	return nil
}

// embedFormat returns the output format: the --format value, else the one the extension names.
func embedFormat(out, format string) (string, error) {
	if format != "" {
		switch format {
		case "npy", "csv", "safetensors":
			return format, nil
		}
		return "", fmt.Errorf("unknown --format %q: want npy, csv or safetensors", format)
	}
	if f, ok := embedFormats[strings.ToLower(filepath.Ext(out))]; ok {
		return f, nil
	}
	return "", fmt.Errorf("cannot tell the format of %s from its extension: name it .npy, .csv or .safetensors, or give --format", out)
}

func featureName(projection bool) string {
	if projection {
		return "z"
	}
	return "h"
}

// embedDataset opens spec the way md needs it and embeds every sample, reporting progress on log.
// It also returns the class names (nil for unlabelled data).
func embedDataset(md *modeldir.ModelDir, spec string, projection, skipBad bool, log io.Writer) (*infer.Result, []string, error) {
	ds, err := data.OpenForModel(spec, data.ModelOptions{Channels: md.Channels(), Size: md.Config.ImageSize, SkipBad: skipBad}, log)
	if err != nil {
		return nil, nil, err
	}
	res, err := embedAll(md, ds, projection, fmt.Sprintf("%s (%s)", spec, featureName(projection)), log)
	return res, ds.Classes(), err
}

// embedAll embeds every sample of ds with md's evaluation transform, printing a progress line on
// log at most every few seconds and when done.
func embedAll(md *modeldir.ModelDir, ds data.Dataset, projection bool, what string, log io.Writer) (*infer.Result, error) {
	first, err := ds.Get(0)
	if err != nil {
		return nil, err
	}
	t, err := md.EvalTransform(first.Image.H, first.Image.C)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	last := start
	progress := func(done, total int) {
		if log == nil {
			return
		}
		if now := time.Now(); done == total || now.Sub(last) > 3*time.Second {
			last = now
			fmt.Fprintf(log, "embedding %s: %d/%d images, %.1fs\n", what, done, total, now.Sub(start).Seconds())
		}
	}
	return infer.Embed(md.Model, ds, t, infer.Options{Projection: projection, Progress: progress})
}

// embedMeta is the provenance stored with safetensors output.
type embedMeta struct {
	model, data string
	projection  bool
	classes     []string
}

// writeEmbeddings writes res to out in the given format and returns the files written (out first).
func writeEmbeddings(res *infer.Result, out, format string, meta embedMeta) ([]string, error) {
	if d := filepath.Dir(out); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating the output directory: %w", err)
		}
	}
	base := strings.TrimSuffix(out, filepath.Ext(out))
	labelled := meta.classes != nil || hasLabels(res.Labels)
	files := []string{out}
	switch format {
	case "npy":
		if err := atomicfile.Write(base+".ids.txt", "", func(w io.Writer) error { return writeIDs(w, res.IDs) }); err != nil {
			return nil, err
		}
		files = append(files, base+".ids.txt")
		if labelled {
			if err := atomicfile.Write(base+".labels.npy", "", func(w io.Writer) error { return writeInt64NPY(w, res.Labels) }); err != nil {
				return nil, err
			}
			files = append(files, base+".labels.npy")
		}
		return files, atomicfile.Write(out, "", func(w io.Writer) error { return data.WriteNPY(w, res.Data, res.N, res.D) })
	case "csv":
		return files, atomicfile.Write(out, "", func(w io.Writer) error { return writeEmbeddingCSV(w, res, labelled) })
	case "safetensors":
		m := map[string]string{"features": featureName(meta.projection), "model": meta.model, "data": meta.data, "n": strconv.Itoa(res.N), "dim": strconv.Itoa(res.D)}
		if meta.classes != nil {
			b, _ := json.Marshal(meta.classes)
			m["classes"] = string(b)
		}
		ids, err := json.Marshal(res.IDs)
		if err != nil {
			return nil, err
		}
		if len(ids) <= maxMetadataIDs {
			m["ids"] = string(ids)
		} else {
			if err := atomicfile.Write(base+".ids.txt", "", func(w io.Writer) error { return writeIDs(w, res.IDs) }); err != nil {
				return nil, err
			}
			m["ids_file"] = filepath.Base(base + ".ids.txt")
			files = append(files, base+".ids.txt")
		}
		ts := map[string]*tensor.Tensor{"embeddings": tensor.FromSlice(res.Data, res.N, res.D)}
		dt := map[string]safetensors.DType{}
		if labelled {
			l := make([]float32, res.N)
			for i, v := range res.Labels {
				l[i] = float32(v)
			}
			ts["labels"] = tensor.FromSlice(l, res.N)
			dt["labels"] = safetensors.I64
		}
		return files, atomicfile.Write(out, "", func(w io.Writer) error { return safetensors.WriteTyped(w, ts, dt, m) })
	}
	return nil, fmt.Errorf("unknown format %q", format)
}

// hasLabels reports whether any sample has a class (infer.Embed records -1 for unlabelled data).
func hasLabels(labels []int) bool {
	for _, l := range labels {
		if l >= 0 {
			return true
		}
	}
	return false
}

// writeIDs writes one id per line, a newline inside an id escaped as \n.
func writeIDs(w io.Writer, ids []string) error {
	esc := strings.NewReplacer("\n", `\n`, "\r", `\r`)
	bw := bufio.NewWriter(w)
	for _, id := range ids {
		bw.WriteString(esc.Replace(id))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// writeInt64NPY writes v as a one-dimensional little-endian int64 .npy array (version 1.0).
func writeInt64NPY(w io.Writer, v []int) error {
	h := fmt.Sprintf("{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }", len(v))
	if pad := 64 - (10+len(h)+1)%64; pad != 64 {
		h += strings.Repeat(" ", pad)
	}
	h += "\n"
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(h)))
	bw.WriteString(h)
	var b [8]byte
	for _, x := range v {
		binary.LittleEndian.PutUint64(b[:], uint64(int64(x)))
		bw.Write(b[:])
	}
	return bw.Flush()
}

// writeEmbeddingCSV writes the header id,label,f0,... and one row per sample.
func writeEmbeddingCSV(w io.Writer, res *infer.Result, labelled bool) error {
	cw := csv.NewWriter(w)
	row := make([]string, 2+res.D)
	row[0], row[1] = "id", "label"
	for j := 0; j < res.D; j++ {
		row[2+j] = "f" + strconv.Itoa(j)
	}
	if err := cw.Write(row); err != nil {
		return err
	}
	for i := 0; i < res.N; i++ {
		row[0], row[1] = res.IDs[i], ""
		if labelled && res.Labels[i] >= 0 {
			row[1] = strconv.Itoa(res.Labels[i])
		}
		for j, v := range res.Data[i*res.D : (i+1)*res.D] {
			row[2+j] = strconv.FormatFloat(float64(v), 'g', -1, 32)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
