package autodiff_test

import (
	"encoding/json"
	"strings"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

// opCase is one case of a section of testdata/ops.json: tensors and scalars by field name.
type opCase map[string]json.RawMessage

// opCases loads the cases of one section of testdata/ops.json.
func opCases(t *testing.T, section string) []opCase {
	t.Helper()
	var file map[string]json.RawMessage
	testvec.Load(t, "testdata/ops.json", &file)
	var sec struct {
		Description string   `json:"description"`
		Cases       []opCase `json:"cases"`
	}
	if err := json.Unmarshal(file[section], &sec); err != nil || len(sec.Cases) == 0 {
		t.Fatalf("ops.json section %q: %v (%d cases)", section, err, len(sec.Cases))
	}
	return sec.Cases
}

func (c opCase) name() string {
	var s string
	_ = json.Unmarshal(c["name"], &s)
	return s
}

func (c opCase) has(k string) bool { _, ok := c[k]; return ok }

// tensor returns field k as a reference tensor, failing when absent.
func (c opCase) tensor(t *testing.T, k string) testvec.Tensor {
	t.Helper()
	var v testvec.Tensor
	if err := json.Unmarshal(c[k], &v); err != nil || v.Shape == nil {
		t.Fatalf("case %s: field %q: %v", c.name(), k, err)
	}
	return v
}

// t32 returns field k as a float32 tensor.
func (c opCase) t32(t *testing.T, k string) *tensor.Tensor {
	t.Helper()
	v := c.tensor(t, k)
	return tensor.FromSlice(v.F32(), v.Shape...)
}

func (c opCase) num(t *testing.T, k string) float64 {
	t.Helper()
	var v float64
	if err := json.Unmarshal(c[k], &v); err != nil {
		t.Fatalf("case %s: field %q: %v", c.name(), k, err)
	}
	return v
}

// backwardWithR runs S = sum(out ⊙ R) backward on out's tape.
func backwardWithR(tp *ad.Tape, out *ad.Var, r *tensor.Tensor) {
	tp.Backward(ad.SumAll(ad.Mul(out, tp.Constant(r))))
}

const tol32 = 1e-4 // testvectors/README.md: float32 tolerance relative to the largest |value|

func TestConv2dMatchesPyTorch(t *testing.T) {
	for _, c := range opCases(t, "conv2d") {
		t.Run(c.name(), func(t *testing.T) {
			tp := ad.NewTape()
			x := tp.Variable(c.t32(t, "x"))
			w := ad.Param(c.t32(t, "weight"))
			var b *ad.Var
			if c.has("bias") {
				b = ad.Param(c.t32(t, "bias"))
			}
			out := ad.Conv2d(x, w, b, int(c.num(t, "stride")), int(c.num(t, "padding")))
			testvec.Close(t, "output", out.Data(), c.tensor(t, "output"), tol32)
			backwardWithR(tp, out, c.t32(t, "R"))
			testvec.Close(t, "grad_x", x.Grad.Data, c.tensor(t, "grad_x"), tol32)
			testvec.Close(t, "grad_weight", w.Grad.Data, c.tensor(t, "grad_weight"), tol32)
			if b != nil {
				testvec.Close(t, "grad_bias", b.Grad.Data, c.tensor(t, "grad_bias"), tol32)
			}
		})
	}
}

func TestConv2dGradients(t *testing.T) {
	cases := []struct {
		name             string
		x, w             []int
		bias             bool
		stride, pad      int
		constX, constW   bool
		wantShapeOfOuput []int
	}{
		{"3x3_s1_p1_bias", []int{2, 3, 6, 5}, []int{4, 3, 3, 3}, true, 1, 1, false, false, []int{2, 4, 6, 5}},
		{"3x3_s2_p1_odd", []int{2, 2, 7, 9}, []int{3, 2, 3, 3}, false, 2, 1, false, false, []int{2, 3, 4, 5}},
		{"3x3_s1_p0", []int{3, 2, 5, 5}, []int{2, 2, 3, 3}, true, 1, 0, false, false, []int{3, 2, 3, 3}},
		{"3x3_s2_p0_batch1", []int{1, 3, 8, 7}, []int{2, 3, 3, 3}, false, 2, 0, false, false, []int{1, 2, 3, 3}},
		{"1x1_s1", []int{2, 4, 3, 3}, []int{5, 4, 1, 1}, true, 1, 0, false, false, []int{2, 5, 3, 3}},
		{"1x1_s2", []int{2, 3, 5, 5}, []int{2, 3, 1, 1}, false, 2, 0, false, false, []int{2, 2, 3, 3}},
		{"5x3_s3_p2", []int{2, 2, 9, 8}, []int{3, 2, 5, 3}, true, 3, 2, false, false, []int{2, 3, 3, 4}},
		{"kernel_equals_padded_input", []int{1, 2, 2, 2}, []int{2, 2, 4, 4}, true, 1, 1, false, false, []int{1, 2, 1, 1}},
		{"constant_input_first_layer", []int{3, 1, 6, 6}, []int{4, 1, 3, 3}, false, 1, 1, true, false, []int{3, 4, 6, 6}},
		{"constant_weight", []int{2, 2, 5, 5}, []int{3, 2, 3, 3}, true, 2, 1, false, true, []int{2, 3, 3, 3}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inputs := []*tensor.Tensor{gradcheck.Random(uint64(10*i+1), c.x...), gradcheck.Random(uint64(10*i+2), c.w...)}
			if c.bias {
				inputs = append(inputs, gradcheck.Random(uint64(10*i+3), c.w[0]))
			}
			f := func(tp *ad.Tape, in []*ad.Var) *ad.Var {
				x, w := in[0], in[1]
				if c.constX {
					x = ad.Detach(x)
				}
				if c.constW {
					w = ad.Detach(w)
				}
				var b *ad.Var
				if c.bias {
					b = in[2]
				}
				out := ad.Conv2d(x, w, b, c.stride, c.pad)
				if !tensor.SameShape(out.Shape(), c.wantShapeOfOuput) {
					t.Fatalf("output shape %v, want %v", out.Shape(), c.wantShapeOfOuput)
				}
				return out
			}
			skip := []bool{c.constX, c.constW}
			gradcheck.Check(t, c.name, f, inputs, gradcheck.Options{Seed: uint64(i), Skip: skip, Probes: 48})
		})
	}
}

// TestConv2dWinogradGradients checks Winograd F(2×2,3×3)'s gradients against central
// differences, odd sides included: the plain Go path (4 channels) and the AVX-512 one (16, where
// the CPU has it).
func TestConv2dWinogradGradients(t *testing.T) {
	for i, c := range []struct {
		name string
		algo ad.ConvAlgorithm
		x, w []int
	}{
		{"forced_odd", ad.ConvWinograd, []int{2, 3, 7, 5}, []int{4, 3, 3, 3}},
		{"16ch", ad.ConvWinograd, []int{2, 16, 5, 6}, []int{16, 16, 3, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer ad.SetConvAlgorithm(ad.SetConvAlgorithm(c.algo))
			inputs := []*tensor.Tensor{gradcheck.Random(uint64(100+i), c.x...), gradcheck.Random(uint64(200+i), c.w...), gradcheck.Random(uint64(300+i), c.w[0])}
			f := func(tp *ad.Tape, in []*ad.Var) *ad.Var { return ad.Conv2d(in[0], in[1], in[2], 1, 1) }
			gradcheck.Check(t, c.name, f, inputs, gradcheck.Options{Seed: uint64(i), Probes: 48})
		})
	}
}

func TestConvOpsRejectBadArguments(t *testing.T) {
	tp := ad.NewTape()
	v := func(shape ...int) *ad.Var { return tp.Constant(tensor.New(shape...)) }
	cases := []struct {
		name string
		f    func()
		want []string // substrings of the panic message
	}{
		{"conv x not 4-D", func() { ad.Conv2d(v(2, 3, 4), v(4, 3, 3, 3), nil, 1, 1) }, []string{"Conv2d", "[2 3 4]"}},
		{"conv channel mismatch", func() { ad.Conv2d(v(2, 3, 5, 5), v(4, 2, 3, 3), nil, 1, 1) }, []string{"Conv2d", "[2 3 5 5]", "[4 2 3 3]"}},
		{"conv bias size", func() { ad.Conv2d(v(2, 3, 5, 5), v(4, 3, 3, 3), v(3), 1, 1) }, []string{"Conv2d", "[3]"}},
		{"conv stride 0", func() { ad.Conv2d(v(2, 3, 5, 5), v(4, 3, 3, 3), nil, 0, 1) }, []string{"Conv2d", "stride"}},
		{"conv kernel too large", func() { ad.Conv2d(v(1, 1, 2, 2), v(1, 1, 5, 5), nil, 1, 1) }, []string{"Conv2d", "larger"}},
		{"bn x 3-D", func() { ad.BatchNorm(v(2, 3, 4), nil, nil, nil, nil, true, 0.1, 1e-5) }, []string{"BatchNorm", "[2 3 4]"}},
		{"bn gamma size", func() { ad.BatchNorm(v(2, 3, 4, 4), v(4), nil, nil, nil, true, 0.1, 1e-5) }, []string{"BatchNorm", "gamma", "[4]"}},
		{"bn one value per channel", func() { ad.BatchNorm(v(1, 3), nil, nil, nil, nil, true, 0.1, 1e-5) }, []string{"BatchNorm", "[1 3]"}},
		{"bn eval without running stats", func() { ad.BatchNorm(v(4, 3), nil, nil, nil, nil, false, 0.1, 1e-5) }, []string{"BatchNorm", "running"}},
		{"maxpool kernel too large", func() { ad.MaxPool2d(v(1, 1, 3, 3), 4, 1) }, []string{"MaxPool2d", "[1 1 3 3]"}},
		{"maxpool stride 0", func() { ad.MaxPool2d(v(1, 1, 4, 4), 2, 0) }, []string{"MaxPool2d", "stride"}},
		{"avgpool x 2-D", func() { ad.AvgPool2d(v(4, 4), 2, 2) }, []string{"AvgPool2d", "[4 4]"}},
		{"gap x 2-D", func() { ad.GlobalAvgPool(v(4, 4)) }, []string{"GlobalAvgPool", "[4 4]"}},
		{"linear feature mismatch", func() { ad.Linear(v(3, 5), v(4, 6), nil) }, []string{"Linear", "[3 5]", "[4 6]"}},
		{"linear bias size", func() { ad.Linear(v(3, 5), v(4, 5), v(5)) }, []string{"Linear", "[5]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil {
					t.Fatal("did not panic")
				}
				for _, w := range c.want {
					if !strings.Contains(msg, w) {
						t.Errorf("panic %q does not mention %q", msg, w)
					}
				}
			}()
			c.f()
		})
	}
}
