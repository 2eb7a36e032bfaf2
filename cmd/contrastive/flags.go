package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/contrastive-go/contrastive/modeldir"
	"github.com/contrastive-go/contrastive/train"
	"go.yaml.in/yaml/v3"
)

// intList is a comma-separated list of integers flag ("32,64,128").
type intList []int

func (l *intList) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	*l = nil
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("%q is not an integer", f)
		}
		*l = append(*l, n)
	}
	return nil
}

// applyConfigFile sets, from a YAML or JSON file whose keys are flag names, every flag that was
// not given on the command line: the command line wins over the file.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	var m map[string]any
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		err = json.Unmarshal(b, &m)
	default:
		err = yaml.Unmarshal(b, &m)
	}
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for k, v := range m {
		f := fs.Lookup(k)
		if f == nil || k == "config" {
			return fmt.Errorf("config file %s: unknown key %q (keys are the flag names of this command)", path, k)
		}
		if set[k] {
			continue
		}
		var s string
		switch x := v.(type) {
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			s = strings.Join(parts, ",")
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			s = fmt.Sprint(x)
		}
		if err := fs.Set(k, s); err != nil {
			return fmt.Errorf("config file %s: key %q: %v", path, k, err)
		}
	}
	return nil
}

// Validated flags: every numeric flag of every command is one of these, so a bad value (NaN,
// Inf, zero where zero means nothing, a negative count) is refused when the flags are parsed,
// with one sentence naming the flag, instead of reaching the library.

// check is a value rule: nil when v is acceptable, else what it must be.
type check[T any] func(v T) string

var (
	positiveInt   check[int]           = func(v int) string { return when(v <= 0, "a whole number > 0") }
	nonNegInt     check[int]           = func(v int) string { return when(v < 0, "a whole number >= 0") }
	positiveFloat check[float64]       = func(v float64) string { return when(!(v > 0) || math.IsInf(v, 0), "a finite number > 0") }
	nonNegFloat   check[float64]       = func(v float64) string { return when(!(v >= 0) || math.IsInf(v, 0), "a finite number >= 0") }
	openUnit      check[float64]       = func(v float64) string { return when(!(v > 0 && v < 1), "a number strictly between 0 and 1") }
	unitInterval  check[float64]       = func(v float64) string { return when(!(v >= 0 && v <= 1), "a number from 0 to 1") }
	positiveDur   check[time.Duration] = func(v time.Duration) string { return when(v <= 0, "a duration > 0 such as 90s or 20m") }
	positiveInt64 check[int64]         = func(v int64) string { return when(v <= 0, "a whole number > 0") }
)

func when(bad bool, want string) string {
	if bad {
		return want
	}
	return ""
}

func atLeast(min int) check[int] {
	return func(v int) string { return when(v < min, fmt.Sprintf("a whole number >= %d", min)) }
}

func between(lo, hi int) check[int] {
	return func(v int) string { return when(v < lo || v > hi, fmt.Sprintf("a whole number from %d to %d", lo, hi)) }
}

// checkedValue is a flag.Value that parses with parse and applies its rule.
type checkedValue[T any] struct {
	p     *T
	parse func(string) (T, error)
	rule  check[T]
	str   func(T) string
}

func (c *checkedValue[T]) String() string {
	if c == nil || c.p == nil {
		return ""
	}
	return c.str(*c.p)
}

func (c *checkedValue[T]) Set(s string) error {
	v, err := c.parse(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a valid value")
	}
	if want := c.rule(v); want != "" {
		return fmt.Errorf("must be %s", want)
	}
	*c.p = v
	return nil
}

func intFlag(fs *flag.FlagSet, p *int, name string, def int, rule check[int], usage string) {
	*p = def
	fs.Var(&checkedValue[int]{p, strconv.Atoi, rule, strconv.Itoa}, name, usage)
}

func int64Flag(fs *flag.FlagSet, p *int64, name string, def int64, rule check[int64], usage string) {
	*p = def
	fs.Var(&checkedValue[int64]{p, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }, rule,
		func(v int64) string { return strconv.FormatInt(v, 10) }}, name, usage)
}

func floatFlag(fs *flag.FlagSet, p *float64, name string, def float64, rule check[float64], usage string) {
	*p = def
	fs.Var(&checkedValue[float64]{p, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }, rule,
		func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }}, name, usage)
}

func durationFlag(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, rule check[time.Duration], usage string) {
	*p = def
	fs.Var(&checkedValue[time.Duration]{p, time.ParseDuration, rule, func(v time.Duration) string {
		if v == 0 {
			return ""
		}
		return v.String()
	}}, name, usage)
}

// checkedList is a comma-separated list of integers, each passing rule.
type checkedList struct {
	l    *intList
	rule check[int]
}

func (c checkedList) String() string {
	if c.l == nil {
		return ""
	}
	return c.l.String()
}

func (c checkedList) Set(s string) error {
	if err := c.l.Set(s); err != nil {
		return err
	}
	if len(*c.l) == 0 {
		return errors.New("must list at least one number")
	}
	for _, v := range *c.l {
		if want := c.rule(v); want != "" {
			return fmt.Errorf("each value must be %s", want)
		}
	}
	return nil
}

// imageSizeFlag is --image-size of the commands that read images with a trained model.
func imageSizeFlag(fs *flag.FlagSet, p *int) {
	intFlag(fs, p, "image-size", 0, between(1, train.MaxImageSize), "resize images to this square size (default: the size the model was trained at)")
}

// openModelDir opens a model directory; size > 0 (--image-size) overrides the size images are
// resized to before the model sees them.
func openModelDir(dir string, size int) (*modeldir.ModelDir, error) {
	md, err := modeldir.Open(dir)
	if err != nil {
		return nil, err
	}
	if size > 0 {
		md.Config.ImageSize = size
	}
	return md, nil
}
