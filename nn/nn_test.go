package nn

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/safetensors"
	"github.com/contrastive-go/contrastive/tensor"
)

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// smallNet is conv → BN → ReLU → GAP → Linear, named under "net".
func smallNet(seed uint64) *Sequential {
	rng := newRNG(seed)
	return Name(NewSequential(
		NewConv2d(rng, 2, 4, 3, 1, 1, false), NewBatchNorm2d(4), ReLU{},
		GlobalAvgPool{}, NewLinear(rng, 4, 3, true),
	), "net")
}

func TestNamesFollowPyTorch(t *testing.T) {
	rng := newRNG(1)
	inner := NewSequential(NewLinear(rng, 3, 3, true), NewBatchNorm1d(3))
	outer := Name(NewSequential(NewConv2d(rng, 1, 2, 3, 1, 1, true), ReLU{}, Flatten{}, inner), "encoder")
	want := []string{
		"encoder.0.weight", "encoder.0.bias", "encoder.3.0.weight", "encoder.3.0.bias",
		"encoder.3.1.weight", "encoder.3.1.bias",
		"encoder.3.1.running_mean", "encoder.3.1.running_var", "encoder.3.1.num_batches_tracked",
	}
	if got := Keys(outer); !reflect.DeepEqual(got, want) {
		t.Errorf("Keys = %v\nwant %v", got, want)
	}
	if got := Keys(NewLinear(rng, 2, 2, false)); !reflect.DeepEqual(got, []string{"weight"}) {
		t.Errorf("an unnamed layer's keys = %v, want [weight]", got)
	}
	if dt := DTypes(outer); !reflect.DeepEqual(dt, map[string]safetensors.DType{"encoder.3.1.num_batches_tracked": safetensors.I64}) {
		t.Errorf("DTypes = %v", dt)
	}
}

// TestInitMatchesPyTorchDefaults checks kaiming_uniform_(a=√5) weights and biases in
// U(−1/√fanIn, 1/√fanIn): every value within the bound, the standard deviation near bound/√3.
func TestInitMatchesPyTorchDefaults(t *testing.T) {
	rng := newRNG(3)
	conv := NewConv2d(rng, 32, 64, 3, 1, 1, true)
	lin := NewLinear(rng, 512, 256, true)
	cases := []struct {
		name  string
		t     *tensor.Tensor
		bound float64
	}{
		{"conv weight", conv.Weight.Value, 1 / math.Sqrt(32*9)},
		{"conv bias", conv.Bias.Value, 1 / math.Sqrt(32*9)},
		{"linear weight", lin.Weight.Value, 1 / math.Sqrt(512)},
		{"linear bias", lin.Bias.Value, 1 / math.Sqrt(512)},
	}
	for _, c := range cases {
		var sum, sq, maxAbs float64
		for _, v := range c.t.Data {
			sum += float64(v)
			sq += float64(v) * float64(v)
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		}
		n := float64(len(c.t.Data))
		std := math.Sqrt(sq/n - (sum/n)*(sum/n))
		want := c.bound / math.Sqrt(3)
		if maxAbs > c.bound {
			t.Errorf("%s: |value| %g exceeds the bound %g", c.name, maxAbs, c.bound)
		}
		if tol := 4 * want / math.Sqrt(2*n); math.Abs(std-want) > max(tol, 0.06*want) {
			t.Errorf("%s: std %g, want %g (n=%d)", c.name, std, want, int(n))
		}
		if maxAbs < 0.9*c.bound && n > 100 {
			t.Errorf("%s: values reach only %g of the bound %g", c.name, maxAbs, c.bound)
		}
	}
	// Same seed, same weights; another seed, other weights.
	a, b, c := NewLinear(newRNG(9), 4, 4, true), NewLinear(newRNG(9), 4, 4, true), NewLinear(newRNG(10), 4, 4, true)
	if !reflect.DeepEqual(a.Weight.Value.Data, b.Weight.Value.Data) || reflect.DeepEqual(a.Weight.Value.Data, c.Weight.Value.Data) {
		t.Error("initialisation is not a function of the seed")
	}
	bn := NewBatchNorm2d(5)
	for name, want := range map[string]float32{"weight": 1, "bias": 0, "running_mean": 0, "running_var": 1, "num_batches_tracked": 0} {
		if got := StateDict(bn)[name]; got == nil || got.Data[0] != want || got.Data[len(got.Data)-1] != want {
			t.Errorf("BatchNorm %s = %v, want all %v", name, got, want)
		}
	}
	w := tensor.New(64, 64, 3, 3)
	KaimingNormalFanOut(newRNG(4), w, 64*9)
	var sq float64
	for _, v := range w.Data {
		sq += float64(v) * float64(v)
	}
	if std, want := math.Sqrt(sq/float64(len(w.Data))), math.Sqrt(2.0/(64*9)); math.Abs(std-want) > 0.02*want {
		t.Errorf("KaimingNormalFanOut std %g, want %g", std, want)
	}
}

func forward(m Module, x *tensor.Tensor) []float32 {
	tp := autodiff.NewTape()
	tp.NoGrad = true
	return append([]float32(nil), m.Forward(tp.Constant(x)).Data()...)
}

func TestBatchNormTracksBatchesOnlyInTraining(t *testing.T) {
	bn := NewBatchNorm1d(3)
	x := gradcheck.Random(1, 4, 3)
	forward(bn, x)
	forward(bn, x)
	if got := bn.Tracked.Value.Data[0]; got != 2 {
		t.Errorf("after 2 training batches num_batches_tracked = %v", got)
	}
	if bn.Mean.Value.Data[0] == 0 {
		t.Error("training did not move running_mean")
	}
	bn.SetTraining(false)
	before := bn.Mean.Value.Clone()
	forward(bn, x)
	if bn.Tracked.Value.Data[0] != 2 || !reflect.DeepEqual(before.Data, bn.Mean.Value.Data) {
		t.Error("evaluation changed the running statistics")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "[N,3]") {
			t.Errorf("wrong-rank input: panic %v, want one naming [N,3]", r)
		}
	}()
	forward(bn, gradcheck.Random(1, 2, 3, 2, 2))
}

func TestAdaptiveAvgPool(t *testing.T) {
	x := tensor.New(1, 1, 7, 7)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	got := forward(AdaptiveAvgPool2d{Out: 2}, x)
	// PyTorch windows for 7 → 2: rows/cols 0–3 and 3–6; mean of a 4×4 block starting at (r, c).
	block := func(r, c int) float32 {
		var s float32
		for i := r; i < r+4; i++ {
			for j := c; j < c+4; j++ {
				s += float32(i*7 + j)
			}
		}
		return s / 16
	}
	if want := []float32{block(0, 0), block(0, 3), block(3, 0), block(3, 3)}; !reflect.DeepEqual(got, want) {
		t.Errorf("AdaptiveAvgPool 7→2 = %v, want %v", got, want)
	}
	y := gradcheck.Random(2, 2, 3, 5, 6)
	gap, one := forward(GlobalAvgPool{}, y), forward(AdaptiveAvgPool2d{Out: 1}, y)
	for i := range gap {
		if math.Abs(float64(gap[i]-one[i])) > 1e-5 {
			t.Fatalf("AdaptiveAvgPool(1) differs from GlobalAvgPool at %d: %v vs %v", i, one[i], gap[i])
		}
	}
	for _, out := range []int{1, 2, 3} {
		gradcheck.Check(t, "AdaptiveAvgPool", func(tp *autodiff.Tape, in []*autodiff.Var) *autodiff.Var {
			return AdaptiveAvgPool(in[0], out)
		}, []*tensor.Tensor{gradcheck.Random(3, 2, 2, 7, 5)}, gradcheck.Options{})
	}
}

func TestMaxPoolPaddingIsNegativeInfinity(t *testing.T) {
	x := tensor.FromSlice([]float32{-1, -2, -3, -4}, 1, 1, 2, 2)
	got := forward(MaxPool2d{Kernel: 3, Stride: 2, Pad: 1}, x)
	if want := []float32{-1}; !reflect.DeepEqual(got, want) {
		t.Errorf("padded max pool of negatives = %v, want %v (zero padding would give 0)", got, want)
	}
	// 8×8 → 4×4 as torchvision's stem pool (112 → 56).
	if s := forwardShape(MaxPool2d{Kernel: 3, Stride: 2, Pad: 1}, 1, 2, 8, 8); !reflect.DeepEqual(s, []int{1, 2, 4, 4}) {
		t.Errorf("MaxPool2d(3,2,1) on 8×8 gives %v, want [1 2 4 4]", s)
	}
	gradcheck.Check(t, "padded MaxPool2d", func(tp *autodiff.Tape, in []*autodiff.Var) *autodiff.Var {
		return MaxPool2d{Kernel: 3, Stride: 2, Pad: 1}.Forward(in[0])
	}, []*tensor.Tensor{gradcheck.Random(4, 2, 2, 6, 6)}, gradcheck.Options{Eps: 1e-3})
}

func forwardShape(m Module, shape ...int) []int {
	tp := autodiff.NewTape()
	tp.NoGrad = true
	return m.Forward(tp.Constant(tensor.New(shape...))).Shape()
}

func TestSaveLoadRoundTripGivesIdenticalOutputs(t *testing.T) {
	a := smallNet(1)
	x := gradcheck.Random(5, 3, 2, 6, 6)
	forward(a, x) // move the running statistics
	a.SetTraining(false)
	var buf bytes.Buffer
	if err := Save(&buf, a, map[string]string{"model": "small"}); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.DTypes["net.1.num_batches_tracked"] != safetensors.I64 || f.DTypes["net.0.weight"] != safetensors.F32 {
		t.Errorf("stored dtypes %v", f.DTypes)
	}
	b := smallNet(2)
	b.SetTraining(false)
	if reflect.DeepEqual(forward(a, x), forward(b, x)) {
		t.Fatal("differently seeded nets agree before loading")
	}
	meta, err := Load(buf.Bytes(), b)
	if err != nil {
		t.Fatal(err)
	}
	if meta["model"] != "small" {
		t.Errorf("metadata %v", meta)
	}
	if !reflect.DeepEqual(forward(a, x), forward(b, x)) {
		t.Error("outputs differ after loading the saved state")
	}
}

func TestLoadStateDictRejectsOtherArchitectures(t *testing.T) {
	rng := newRNG(1)
	cases := []struct {
		name  string
		other Module
		want  []string
	}{
		{"wider conv", Name(NewSequential(NewConv2d(rng, 2, 5, 3, 1, 1, false), NewBatchNorm2d(5), ReLU{}, GlobalAvgPool{}, NewLinear(rng, 5, 3, true)), "net"),
			[]string{"shape mismatches", "net.0.weight: state dict [5 2 3 3], model [4 2 3 3]"}},
		{"other prefix", Name(smallNet(3), "encoder"), []string{"missing keys: net.0.weight", "unexpected keys: encoder.0.weight"}},
		{"missing bias", Name(NewSequential(NewConv2d(rng, 2, 4, 3, 1, 1, false), NewBatchNorm2d(4), ReLU{}, GlobalAvgPool{}, NewLinear(rng, 4, 3, false)), "net"),
			[]string{"1 missing keys: net.4.bias"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := smallNet(1)
			before := StateDict(smallNet(1))
			err := LoadStateDict(m, StateDict(c.other))
			var sde *StateDictError
			if !errors.As(err, &sde) {
				t.Fatalf("error %v is not a *StateDictError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for k, v := range StateDict(m) {
				if !reflect.DeepEqual(v.Data, before[k].Data) {
					t.Errorf("failed load changed %s", k)
				}
			}
		})
	}
}

// TestLoadStateDictRefusesNonFiniteValues loads state dicts with a NaN or an infinity, as a
// diverged run or a damaged file holds: each is refused, naming the key, and the module keeps its
// weights.
func TestLoadStateDictRefusesNonFiniteValues(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		m := smallNet(1)
		before := StateDict(smallNet(1))
		sd := map[string]*tensor.Tensor{}
		for k, v := range StateDict(smallNet(2)) {
			sd[k] = v.Clone()
		}
		sd["net.4.weight"].Data[5] = bad
		sd["net.1.running_var"].Data[0] = bad
		err := LoadStateDict(m, sd)
		if err == nil || !strings.Contains(err.Error(), "net.4.weight (1 of 12 values)") || !strings.Contains(err.Error(), "net.1.running_var") || !strings.Contains(err.Error(), "non-finite") {
			t.Errorf("value %v: error %v, want one naming net.4.weight and net.1.running_var as non-finite", bad, err)
		}
		for k, v := range StateDict(m) {
			if !reflect.DeepEqual(v.Data, before[k].Data) {
				t.Errorf("value %v: the refused load changed %s", bad, k)
			}
		}
	}
}

func TestEMA(t *testing.T) {
	target, online := smallNet(1), smallNet(2)
	forward(online, gradcheck.Random(1, 2, 2, 4, 4))
	t0, o := StateDict(smallNet(1)), StateDict(online)
	const m = 0.9
	EMA(target, online, m)
	got := StateDict(target)
	for _, p := range target.Params() {
		k := p.Name
		for i, v := range got[k].Data {
			want := m*t0[k].Data[i] + (1-m)*o[k].Data[i]
			if math.Abs(float64(v-want)) > 1e-6 {
				t.Fatalf("%s[%d] = %v, want %v", k, i, v, want)
			}
		}
	}
	for _, b := range target.Buffers() {
		if !reflect.DeepEqual(b.Value.Data, o[b.Name].Data) {
			t.Errorf("buffer %s not copied", b.Name)
		}
	}
	if err := CopyState(target, online); err != nil || !reflect.DeepEqual(StateDict(target)["net.0.weight"].Data, o["net.0.weight"].Data) {
		t.Errorf("CopyState: %v", err)
	}
}

// TestBackwardReachesEveryParam runs a forward and backward pass through conv, BN, pools and
// linear layers and checks every parameter receives a nonzero gradient.
func TestBackwardReachesEveryParam(t *testing.T) {
	rng := newRNG(7)
	net := Name(NewSequential(
		NewConv2d(rng, 1, 4, 3, 1, 1, true), NewBatchNorm2d(4), GELU{}, MaxPool2d{Kernel: 3, Stride: 2, Pad: 1},
		AvgPool2d{Kernel: 2, Stride: 1}, AdaptiveAvgPool2d{Out: 2}, Flatten{}, NewLinear(rng, 16, 8, true),
		NewBatchNorm1d(8), ReLU{}, Identity{}, NewLinear(rng, 8, 2, true),
	), "m")
	tp := autodiff.NewTape()
	y := net.Forward(tp.Constant(gradcheck.Random(8, 4, 1, 9, 9)))
	if !reflect.DeepEqual(y.Shape(), []int{4, 2}) {
		t.Fatalf("output shape %v", y.Shape())
	}
	tp.Backward(autodiff.SumAll(autodiff.Mul(y, tp.Constant(gradcheck.Random(9, 4, 2)))))
	for _, p := range net.Params() {
		nz := false
		for _, g := range p.Grad.Data {
			nz = nz || g != 0
		}
		if !nz {
			t.Errorf("%s has an all-zero gradient", p.Name)
		}
	}
	if NumParams(net) != 4*9+4+8+16*8+8+16+8*2+2 {
		t.Errorf("NumParams = %d", NumParams(net))
	}
	ZeroGrad(net)
	if net.Params()[0].Grad.Data[0] != 0 {
		t.Error("ZeroGrad left a gradient")
	}
}
