package nn

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/safetensors"
	"github.com/contrastive-go/contrastive/tensor"
)

// StateDict returns m's parameters and buffers by key. The tensors are m's own (not copies), as
// PyTorch's state_dict: serialise or Clone them before m trains further. Two different tensors
// under one key (a container that forgot to name its children) panic.
func StateDict(m Module) map[string]*tensor.Tensor {
	sd := map[string]*tensor.Tensor{}
	add := func(name string, t *tensor.Tensor) {
		if old, ok := sd[name]; ok && old != t {
			panic(fmt.Sprintf("nn.StateDict: two tensors named %q", name))
		}
		sd[name] = t
	}
	for _, p := range m.Params() {
		add(p.Name, p.Value)
	}
	for _, b := range m.Buffers() {
		add(b.Name, b.Value)
	}
	return sd
}

// Keys returns m's state_dict keys: parameters in order, then buffers in order.
func Keys(m Module) []string {
	var keys []string
	for _, p := range m.Params() {
		keys = append(keys, p.Name)
	}
	for _, b := range m.Buffers() {
		keys = append(keys, b.Name)
	}
	return keys
}

// DTypes returns the safetensors element type of every key that is not F32 (integer buffers).
func DTypes(m Module) map[string]safetensors.DType {
	dt := map[string]safetensors.DType{}
	for _, b := range m.Buffers() {
		if b.Int {
			dt[b.Name] = safetensors.I64
		}
	}
	return dt
}

// StateDictError reports why a state dict does not fit a module: keys the module has but the
// state dict lacks, keys the state dict has but the module lacks, and keys whose shapes differ.
type StateDictError struct {
	Missing, Unexpected []string
	// Mismatched holds "key: state dict [..], model [..]" lines.
	Mismatched []string
}

// Error summarises the differences, listing at most 8 keys of each kind.
func (e *StateDictError) Error() string {
	var parts []string
	list := func(what string, keys []string) {
		if len(keys) == 0 {
			return
		}
		shown := keys
		if len(shown) > 8 {
			shown = shown[:8]
		}
		s := fmt.Sprintf("%d %s: %s", len(keys), what, strings.Join(shown, ", "))
		if len(keys) > len(shown) {
			s += fmt.Sprintf(", ... (%d more)", len(keys)-len(shown))
		}
		parts = append(parts, s)
	}
	list("missing keys", e.Missing)
	list("unexpected keys", e.Unexpected)
	list("shape mismatches", e.Mismatched)
	return "state dict does not match the model (saved from another architecture or configuration?): " + strings.Join(parts, "; ")
}

// LoadStateDict copies sd into m's parameters and buffers. It is strict: any missing or
// unexpected key or shape mismatch returns a *StateDictError, and a NaN or infinite value an
// error naming its keys (see CheckFinite), leaving m unchanged.
func LoadStateDict(m Module, sd map[string]*tensor.Tensor) error {
	dst := StateDict(m)
	e := &StateDictError{}
	for k, t := range dst {
		src, ok := sd[k]
		switch {
		case !ok:
			e.Missing = append(e.Missing, k)
		case src == nil || !tensor.SameShape(src.Shape, t.Shape) || len(src.Data) != len(t.Data):
			var shape any = "nil"
			if src != nil {
				shape = src.Shape
			}
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: state dict %v, model %v", k, shape, t.Shape))
		}
	}
	for k := range sd {
		if _, ok := dst[k]; !ok {
			e.Unexpected = append(e.Unexpected, k)
		}
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.Mismatched) > 0 {
		sort.Strings(e.Missing)
		sort.Strings(e.Unexpected)
		sort.Strings(e.Mismatched)
		return e
	}
	if err := CheckFinite(sd); err != nil {
		return err
	}
	for k, t := range dst {
		if src := sd[k]; src != t {
			copy(t.Data, src.Data)
		}
	}
	return nil
}

// CheckFinite returns an error naming the tensors of sd that hold a NaN or an infinity (the
// weights of a run that diverged, or of a damaged file), nil when every value is finite.
func CheckFinite(sd map[string]*tensor.Tensor) error {
	var bad []string
	for k, t := range sd {
		if t == nil {
			continue
		}
		n := 0
		for _, v := range t.Data {
			if v-v != 0 { // NaN or ±Inf
				n++
			}
		}
		if n > 0 {
			bad = append(bad, fmt.Sprintf("%s (%d of %d values)", k, n, len(t.Data)))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	if len(bad) > 8 {
		bad = append(bad[:8], fmt.Sprintf("... (%d more)", len(bad)-8))
	}
	return fmt.Errorf("non-finite weights (NaN or ±Inf) in %s: the run diverged or the file is damaged", strings.Join(bad, ", "))
}

// CopyState copies every parameter and buffer of src into dst, which must have the same keys
// and shapes.
func CopyState(dst, src Module) error { return LoadStateDict(dst, StateDict(src)) }

// Save writes m's state dict to w in safetensors format (integer buffers as I64, the rest F32),
// with optional metadata.
func Save(w io.Writer, m Module, meta map[string]string) error {
	return safetensors.WriteTyped(w, StateDict(m), DTypes(m), meta)
}

// Load reads a safetensors file from data into m (strictly, see LoadStateDict) and returns the
// file's metadata.
func Load(data []byte, m Module) (map[string]string, error) {
	f, err := safetensors.Read(data)
	if err != nil {
		return nil, err
	}
	if err := LoadStateDict(m, f.Tensors); err != nil {
		return nil, err
	}
	return f.Metadata, nil
}

// LoadFile is Load from the file at path.
func LoadFile(path string, m Module) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	meta, err := Load(data, m)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	return meta, nil
}

// EMA moves target's parameters towards online's, θ_t ← m·θ_t + (1−m)·θ_o (the momentum
// encoder update of MoCo and BYOL, m ≈ 0.99–0.999), and copies online's buffers into target's.
// The two modules must have the same architecture (same keys in the same order); anything else
// is a programming error and panics.
func EMA(target, online Module, m float32) {
	tp, op := target.Params(), online.Params()
	tb, ob := target.Buffers(), online.Buffers()
	if len(tp) != len(op) || len(tb) != len(ob) {
		panic(fmt.Sprintf("nn.EMA: target has %d params and %d buffers, online %d and %d", len(tp), len(tb), len(op), len(ob)))
	}
	pairs := make([][2]*tensor.Tensor, 0, len(tp)+len(tb))
	check := func(tn, on string, t, o *tensor.Tensor) {
		if tn != on || !tensor.SameShape(t.Shape, o.Shape) {
			panic(fmt.Sprintf("nn.EMA: target %s %v does not match online %s %v", tn, t.Shape, on, o.Shape))
		}
		pairs = append(pairs, [2]*tensor.Tensor{t, o})
	}
	for i := range tp {
		check(tp[i].Name, op[i].Name, tp[i].Value, op[i].Value)
	}
	nParams := len(pairs)
	for i := range tb {
		check(tb[i].Name, ob[i].Name, tb[i].Value, ob[i].Value)
	}
	parallel.For(len(pairs), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			t, o := pairs[i][0].Data, pairs[i][1].Data
			if i >= nParams {
				copy(t, o)
				continue
			}
			for j, v := range o {
				t[j] = m*t[j] + (1-m)*v
			}
		}
	})
}
