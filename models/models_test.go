package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/nn"
	"github.com/contrastive-go/contrastive/tensor"
)

// referenceKeys is Reference().state_dict() of bench/torch_ref.py, in PyTorch's order.
var referenceKeys = []string{
	"encoder.0.weight",
	"encoder.1.weight", "encoder.1.bias", "encoder.1.running_mean", "encoder.1.running_var", "encoder.1.num_batches_tracked",
	"encoder.3.weight",
	"encoder.4.weight", "encoder.4.bias", "encoder.4.running_mean", "encoder.4.running_var", "encoder.4.num_batches_tracked",
	"encoder.6.weight",
	"encoder.7.weight", "encoder.7.bias", "encoder.7.running_mean", "encoder.7.running_var", "encoder.7.num_batches_tracked",
	"head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias",
}

// referenceParams is [k for k, _ in Reference().named_parameters()].
var referenceParams = []string{
	"encoder.0.weight", "encoder.1.weight", "encoder.1.bias", "encoder.3.weight", "encoder.4.weight", "encoder.4.bias",
	"encoder.6.weight", "encoder.7.weight", "encoder.7.bias", "head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias",
}

func build(t *testing.T, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := Build(cfg, seed)
	if err != nil {
		t.Fatalf("Build(%+v): %v", cfg, err)
	}
	return m
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func TestReferenceMatchesTorchRef(t *testing.T) {
	for _, cfg := range []Config{Reference(), {Name: SmallCNNName, PoolGrid: 1, Head: HeadConfig{Hidden: 128, Out: 64}}} {
		m := build(t, cfg, 1)
		if n := m.NumParams(); n != 117664 {
			t.Errorf("%+v: %d parameters, want 117,664", cfg, n)
		}
		if got := sorted(nn.Keys(m)); !reflect.DeepEqual(got, sorted(referenceKeys)) {
			t.Errorf("state dict keys %v\nwant %v", got, sorted(referenceKeys))
		}
		var params []string
		for _, p := range m.Params() {
			params = append(params, p.Name)
		}
		if !reflect.DeepEqual(params, referenceParams) {
			t.Errorf("parameter order %v\nwant %v", params, referenceParams)
		}
		if m.FeatureDim != 128 || m.ProjDim != 64 {
			t.Errorf("dims h=%d z=%d, want 128 and 64", m.FeatureDim, m.ProjDim)
		}
		if !reflect.DeepEqual(m.Config, Reference()) {
			t.Errorf("filled config %+v, want %+v", m.Config, Reference())
		}
	}
}

// TestSmallCNNDefaultsAreTheRecipe: "small-cnn" means one model in the library and the CLI, the
// default recipe (7×7 pooling grid, 6272→512→128 head); Reference() is DESIGN.md's CNN.
func TestSmallCNNDefaultsAreTheRecipe(t *testing.T) {
	m := build(t, Config{Name: SmallCNNName}, 1)
	want := Config{Name: SmallCNNName, InChannels: 1, Channels: []int{32, 64, 128}, Strides: []int{1, 2, 2}, PoolGrid: 7,
		Head: HeadConfig{Kind: HeadMLP2, Hidden: 512, Out: 128}}
	if !reflect.DeepEqual(m.Config, want) || m.FeatureDim != 6272 || m.ProjDim != 128 || m.NumParams() != 3370336 {
		t.Errorf("small-cnn defaults: %+v, h %d, z %d, %d parameters; want %+v, 6272, 128, 3,370,336", m.Config, m.FeatureDim, m.ProjDim, m.NumParams(), want)
	}
}

func TestEncoderShapesAndCounts(t *testing.T) {
	cases := []struct {
		name     string
		cfg      Config
		input    []int
		params   int // 0: not checked
		h, z     int
		someKeys []string
	}{
		{"reference", Reference(), []int{2, 1, 28, 28}, 117664, 128, 64, nil},
		{"small-cnn 2x2 grid", Config{Name: SmallCNNName, PoolGrid: 2}, []int{2, 1, 28, 28}, 0, 512, 128, nil},
		{"small-cnn 3x3 grid, two layers", Config{Name: SmallCNNName, Channels: []int{16, 32}, Strides: []int{2, 2}, PoolGrid: 3}, []int{2, 1, 28, 28}, 0, 288, 128,
			[]string{"encoder.4.running_var"}},
		{"resnet18 imagenet stem", Config{Name: ResNet18Name}, []int{2, 3, 32, 32}, 11176512 + 512*512 + 512 + 512*128 + 128, 512, 128,
			[]string{"encoder.conv1.weight", "encoder.bn1.num_batches_tracked", "encoder.layer1.0.conv1.weight",
				"encoder.layer2.0.downsample.0.weight", "encoder.layer2.0.downsample.1.running_mean", "encoder.layer4.1.bn2.bias"}},
		{"resnet18 cifar stem, gray", Config{Name: ResNet18CIFARName, InChannels: 1, Head: HeadConfig{Kind: HeadNone}}, []int{2, 1, 8, 8},
			11168832 - 64*2*9, 512, 512, nil},
		{"mlp", Config{Name: MLPName, InputDim: 10, Hidden: []int{16, 8}, Head: HeadConfig{Kind: HeadMLP3BN, Out: 4, FinalBN: true}}, []int{3, 10},
			10*16 + 32 + 16*8 + 16 + (8*8+16)*2 + 8*4 + 8, 8, 4, []string{"encoder.4.weight", "head.7.running_mean"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := build(t, c.cfg, 2)
			m.SetTraining(false)
			if c.params != 0 && m.NumParams() != c.params {
				t.Errorf("%d parameters, want %d", m.NumParams(), c.params)
			}
			tp := autodiff.NewTape()
			tp.NoGrad = true
			h := m.Encode(tp.Constant(gradcheck.Random(1, c.input...)))
			z := m.Project(h)
			if want := []int{c.input[0], c.h}; !reflect.DeepEqual(h.Shape(), want) || m.FeatureDim != c.h {
				t.Errorf("h shape %v (FeatureDim %d), want %v", h.Shape(), m.FeatureDim, want)
			}
			if want := []int{c.input[0], c.z}; !reflect.DeepEqual(z.Shape(), want) || m.ProjDim != c.z {
				t.Errorf("z shape %v (ProjDim %d), want %v", z.Shape(), m.ProjDim, want)
			}
			sd := nn.StateDict(m)
			for _, k := range c.someKeys {
				if sd[k] == nil {
					t.Errorf("no key %s", k)
				}
			}
		})
	}
}

func TestResNet18MatchesTorchvisionCounts(t *testing.T) {
	cases := []struct {
		opts   ResNetOptions
		params int
		keys   int
	}{
		{ResNetOptions{NumClasses: 1000}, 11689512, 122},
		{ResNetOptions{}, 11176512, 120},
		{ResNetOptions{CIFARStem: true}, 11168832, 120},
	}
	for _, c := range cases {
		r, err := NewResNet18(newTestRNG(), c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if n := nn.NumParams(r); n != c.params {
			t.Errorf("%+v: %d parameters, want %d", c.opts, n, c.params)
		}
		if n := len(nn.StateDict(r)); n != c.keys {
			t.Errorf("%+v: %d state dict keys, want %d", c.opts, n, c.keys)
		}
	}
	// torchvision init: convolutions N(0, 2/fan_out), BatchNorm γ = 1.
	r, _ := NewResNet18(newTestRNG(), ResNetOptions{})
	w := r.Layers[3].Layers[1].(*BasicBlock).Conv2.Weight.Value
	var sq float64
	for _, v := range w.Data {
		sq += float64(v) * float64(v)
	}
	if std, want := math.Sqrt(sq/float64(len(w.Data))), math.Sqrt(2.0/(512*9)); math.Abs(std-want) > 0.01*want {
		t.Errorf("layer4.1.conv2 std %g, want %g", std, want)
	}
}

func TestBuildRejectsBadConfigs(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown encoder", Config{Name: "vgg"}, `unknown encoder "vgg" (valid: [mlp resnet18 resnet18-cifar small-cnn])`},
		{"strides and channels differ", Config{Name: SmallCNNName, Channels: []int{8, 16}}, "as many strides as channels"},
		{"zero width", Config{Name: SmallCNNName, Channels: []int{8, 0}, Strides: []int{1, 1}}, "channels must be positive"},
		{"resnet widths", Config{Name: ResNet18Name, Channels: []int{8, 16}}, "4 widths"},
		{"strides on resnet", Config{Name: ResNet18Name, Strides: []int{1}}, "do not apply"},
		{"channels on mlp", Config{Name: MLPName, InputDim: 4, Channels: []int{1}}, "do not apply"},
		{"mlp without input", Config{Name: MLPName}, "input_dim must be positive"},
		{"unknown head", Config{Name: SmallCNNName, Head: HeadConfig{Kind: "mlp9"}}, `unknown head kind "mlp9"`},
		{"unknown predictor", Config{Name: SmallCNNName, Predictor: &HeadConfig{Kind: "x"}}, "predictor: unknown head kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build(c.cfg, 1)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestHeads(t *testing.T) {
	cases := []struct {
		kind    string
		finalBN bool
		keys    []string
	}{
		{HeadMLP2, false, []string{"0.weight", "0.bias", "2.weight", "2.bias"}},
		{HeadMLP2BN, false, []string{"0.weight", "1.weight", "1.bias", "3.weight", "3.bias"}},
		{HeadMLP3BN, true, []string{"0.weight", "1.weight", "1.bias", "3.weight", "4.weight", "4.bias", "6.weight", "7.weight", "7.bias"}},
		{HeadLinear, false, []string{"0.weight", "0.bias"}},
		{HeadNone, false, nil},
	}
	for _, c := range cases {
		h, out, err := NewHead(newTestRNG(), c.kind, 6, 5, 4, c.finalBN)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, p := range h.Params() {
			keys = append(keys, p.Name)
		}
		if !reflect.DeepEqual(keys, c.keys) {
			t.Errorf("%s: params %v, want %v", c.kind, keys, c.keys)
		}
		if want := map[bool]int{true: 6, false: 4}[c.kind == HeadNone]; out != want {
			t.Errorf("%s: out %d, want %d", c.kind, out, want)
		}
	}
}

func TestConfigJSONRoundTripRebuildsTheSameModel(t *testing.T) {
	cfg := Config{Name: SmallCNNName, Channels: []int{8, 16}, Strides: []int{1, 2}, PoolGrid: 2,
		Head: HeadConfig{Kind: HeadMLP2BN}, Predictor: &HeadConfig{Hidden: 32}}
	a := build(t, cfg, 7)
	js, err := json.Marshal(a.Config)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	b := build(t, back, 7)
	if !reflect.DeepEqual(a.Config, b.Config) {
		t.Errorf("config changed: %+v vs %+v", a.Config, b.Config)
	}
	sa, sb := nn.StateDict(a), nn.StateDict(b)
	for k, v := range sa {
		if !reflect.DeepEqual(v.Data, sb[k].Data) {
			t.Errorf("%s differs between builds with one seed", k)
		}
	}
	if a.Config.Predictor.Kind != HeadMLP2BN || a.Config.Predictor.Out != 128 || sa["predictor.3.bias"] == nil {
		t.Errorf("predictor config %+v", a.Config.Predictor)
	}
}

func newTestRNG() *rand.Rand { return rand.New(rand.NewPCG(3, 3)) }

// embed runs m in evaluation mode on x and returns h and z.
func embed(m *Model, x *tensor.Tensor) (h, z []float32) {
	tp := autodiff.NewTape()
	tp.NoGrad = true
	hv := m.Encode(tp.Constant(x))
	zv := m.Project(hv)
	return append([]float32(nil), hv.Data()...), append([]float32(nil), zv.Data()...)
}

// warm runs training-mode forwards so that the BatchNorm running statistics are not trivial.
func warm(m *Model, shape ...int) {
	m.SetTraining(true)
	for i := range 2 {
		embed(m, gradcheck.Random(uint64(100+i), shape...))
	}
	m.SetTraining(false)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := build(t, Reference(), 1)
	warm(m, 4, 1, 28, 28)
	x := gradcheck.Random(5, 3, 1, 28, 28)
	h0, z0 := embed(m, x)
	var buf bytes.Buffer
	if err := m.Save(&buf, map[string]string{"epoch": "4"}); err != nil {
		t.Fatal(err)
	}
	back, meta, err := Load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	back.SetTraining(false)
	if h1, z1 := embed(back, x); !reflect.DeepEqual(h0, h1) || !reflect.DeepEqual(z0, z1) {
		t.Error("embeddings differ after Save and Load")
	}
	if meta["epoch"] != "4" || !reflect.DeepEqual(back.Config, m.Config) {
		t.Errorf("metadata %v, config %+v", meta, back.Config)
	}
	// LoadWeights into a differently seeded model of the same config.
	other := build(t, Reference(), 2)
	other.SetTraining(false)
	if _, err := other.LoadWeights(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if h1, _ := embed(other, x); !reflect.DeepEqual(h0, h1) {
		t.Error("LoadWeights did not reproduce the embeddings")
	}
}

func TestLoadingAnotherArchitectureFails(t *testing.T) {
	var ref bytes.Buffer
	if err := build(t, Reference(), 1).Save(&ref, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		into Config
		want []string
	}{
		{"wider cnn", Config{Name: SmallCNNName, Channels: []int{32, 64, 256}}, []string{"shape mismatches", "encoder.6.weight: state dict [128 64 3 3], model [256 64 3 3]"}},
		{"resnet", Config{Name: ResNet18CIFARName, InChannels: 1, Channels: []int{4, 4, 4, 4}}, []string{"missing keys: encoder.bn1.bias", "unexpected keys: encoder.0.weight"}},
		{"with predictor", Config{Name: SmallCNNName, Predictor: &HeadConfig{}}, []string{"missing keys: predictor.0.weight"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := build(t, c.into, 1)
			_, err := m.LoadWeights(ref.Bytes())
			var sde *nn.StateDictError
			if !errors.As(err, &sde) {
				t.Fatalf("error %v, want a *nn.StateDictError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestCloneAndEMAUpdate(t *testing.T) {
	online := build(t, Config{Name: SmallCNNName, Channels: []int{4, 8}, Strides: []int{1, 2}, Predictor: &HeadConfig{}}, 1)
	target := online.Clone()
	x := gradcheck.Random(1, 2, 1, 8, 8)
	online.SetTraining(false)
	target.SetTraining(false)
	if a, b := fmtEmbed(online, x), fmtEmbed(target, x); a != b {
		t.Fatal("a clone embeds differently")
	}
	// Change the online model; the clone must not follow (deep copy).
	other := build(t, online.Config, 2)
	warm(other, 4, 1, 8, 8)
	if err := online.CopyFrom(other); err != nil {
		t.Fatal(err)
	}
	t0 := nn.StateDict(target.Clone())
	o := nn.StateDict(online)
	const m = 0.99
	EMAUpdate(target, online, m)
	got := nn.StateDict(target)
	for _, p := range target.Params() {
		k := p.Name
		for i, v := range got[k].Data {
			want := t0[k].Data[i]
			if !strings.HasPrefix(k, "predictor.") {
				want = m*t0[k].Data[i] + (1-m)*o[k].Data[i]
			}
			if math.Abs(float64(v-want)) > 1e-6 {
				t.Fatalf("%s[%d] = %v, want %v", k, i, v, want)
			}
		}
	}
	for _, b := range target.Buffers() {
		if !strings.HasPrefix(b.Name, "predictor.") && !reflect.DeepEqual(b.Value.Data, o[b.Name].Data) {
			t.Errorf("buffer %s not copied", b.Name)
		}
	}
}

func fmtEmbed(m *Model, x *tensor.Tensor) string {
	h, z := embed(m, x)
	js, _ := json.Marshal([][]float32{h, z})
	return string(js)
}

// TestReferenceBackwardReachesEveryParam trains one step's worth of gradient through the
// reference model (and a predictor) and checks every parameter's gradient is nonzero.
func TestReferenceBackwardReachesEveryParam(t *testing.T) {
	cfg := Reference()
	cfg.Predictor = &HeadConfig{}
	m := build(t, cfg, 3)
	tp := autodiff.NewTape()
	p := m.Predict(m.Forward(tp.Constant(gradcheck.Random(2, 6, 1, 28, 28))))
	loss := autodiff.SumAll(autodiff.Mul(p, tp.Constant(gradcheck.Random(3, 6, 64))))
	tp.Backward(loss)
	for _, v := range m.Params() {
		nz := false
		for _, g := range v.Grad.Data {
			nz = nz || (g != 0 && !math.IsNaN(float64(g)))
		}
		if !nz {
			t.Errorf("%s has no gradient", v.Name)
		}
	}
	if tr := nn.StateDict(m)["encoder.1.num_batches_tracked"].Data[0]; tr != 1 {
		t.Errorf("num_batches_tracked = %v after one training forward", tr)
	}
}
