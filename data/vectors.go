package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// HeaderMode says whether the first CSV row names the columns.
type HeaderMode int

const (
	HeaderAuto HeaderMode = iota // a header when some field of the first row is not a number
	HeaderYes                    // the first row is a header
	HeaderNo                     // the first row is data
)

// CSVOptions configures ReadCSV.
type CSVOptions struct {
	// LabelColumn names the column holding labels (needs a header). Labels that are all
	// non-negative integers are used as they are (classes "0".."max"); otherwise the distinct
	// values, sorted, are the classes. Empty: no labels, every column is a feature.
	LabelColumn string
	Header      HeaderMode
	Comma       rune // field separator; 0 means ','
}

// ReadCSV reads a table of numbers, one sample per row, into vectors (C = H = 1, W = the
// number of feature columns). Every feature must be a finite number; errors name the line and
// column. name is used in IDs and error messages.
func ReadCSV(r io.Reader, name string, opt CSVOptions) (*F32Dataset, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	if opt.Comma != 0 {
		cr.Comma = opt.Comma
	}
	first, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading CSV %s: empty file", name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading CSV %s: %w", name, err)
	}
	first = append([]string(nil), first...)
	header := opt.Header == HeaderYes
	if opt.Header == HeaderAuto {
		for _, f := range first {
			if _, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err != nil {
				header = true
				break
			}
		}
	}
	labelCol := -1
	if opt.LabelColumn != "" {
		if !header {
			return nil, fmt.Errorf("reading CSV %s: label column %q given but the file has no header row", name, opt.LabelColumn)
		}
		for i, h := range first {
			if strings.TrimSpace(h) == opt.LabelColumn {
				labelCol = i
				break
			}
		}
		if labelCol < 0 {
			return nil, fmt.Errorf("reading CSV %s: no column named %q (columns: %s)", name, opt.LabelColumn, strings.Join(first, ", "))
		}
	}
	d := len(first)
	if labelCol >= 0 {
		d--
	}
	if d == 0 {
		return nil, fmt.Errorf("reading CSV %s: no feature columns", name)
	}
	ds := &F32Dataset{C: 1, H: 1, W: d, Name: filepath.Base(name)}
	var rawLabels []string
	line := 1
	add := func(rec []string) error {
		for j, f := range rec {
			if j == labelCol {
				rawLabels = append(rawLabels, strings.TrimSpace(f))
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				col := strconv.Itoa(j + 1)
				if header {
					col = strconv.Quote(first[j])
				}
				return fmt.Errorf("reading CSV %s: line %d, column %s: %q is not a finite number", name, line, col, f)
			}
			ds.Pix = append(ds.Pix, float32(v))
		}
		ds.N++
		if int64(len(ds.Pix))*4 > MaxArrayBytes {
			return fmt.Errorf("reading CSV %s: over the %d-byte limit", name, int64(MaxArrayBytes))
		}
		return nil
	}
	if !header {
		if err := add(first); err != nil {
			return nil, err
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading CSV %s: %w", name, err)
		}
		line, _ = cr.FieldPos(0)
		if err := add(rec); err != nil {
			return nil, err
		}
	}
	if ds.N == 0 {
		return nil, fmt.Errorf("reading CSV %s: no data rows", name)
	}
	if labelCol >= 0 {
		ds.Labels, ds.ClassNames = labelsFromStrings(rawLabels)
	}
	return ds, nil
}

// labelsFromStrings maps label values to indices: integers ≥ 0 as they are, anything else by
// the sorted distinct values.
func labelsFromStrings(raw []string) ([]int, []string) {
	out := make([]int, len(raw))
	allInts := true
	for i, s := range raw {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 1<<20 {
			allInts = false
			break
		}
		out[i] = v
	}
	if allInts {
		return out, numberNames(maxInt(out) + 1)
	}
	set := map[string]int{}
	for _, s := range raw {
		set[s] = 0
	}
	names := make([]string, 0, len(set))
	for s := range set {
		names = append(names, s)
	}
	sort.Strings(names)
	for i, s := range names {
		set[s] = i
	}
	for i, s := range raw {
		out[i] = set[s]
	}
	return out, names
}

// OpenCSV reads a CSV file of vectors (see ReadCSV).
func OpenCSV(path string, opt CSVOptions) (*F32Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadCSV(f, path, opt)
}
