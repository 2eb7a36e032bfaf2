package optim

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/tensor"
)

// adamReference is Adam.Step's element loop as it was before the assembly kernels, kept as the
// specification: the float64 conversions only stop the compiler fusing a multiply into an add
// (which it does not do at the default GOAMD64=v1).
func adamReference(w, grad, m, v []float32, b1, b2, eps, stepSize, bc2sqrt, decay, l2 float64) {
	for j := range w {
		wj := float64(w[j])
		if decay != 1 {
			wj = float64(float32(wj * decay))
		}
		g := float64(grad[j]) + float64(l2*wj)
		mj := float64(b1*float64(m[j])) + float64((1-b1)*g)
		vj := float64(b2*float64(v[j])) + float64(float64((1-b2)*g)*g)
		m[j], v[j] = float32(mj), float32(vj)
		w[j] = float32(wj - float64(stepSize*mj)/(math.Sqrt(vj)/bc2sqrt+eps))
	}
}

// adamCase is one step's constants as Adam.Step derives them.
type adamCase struct {
	name                string
	lr, b1, b2, eps, wd float64
	t                   int
	decoupled           bool
}

func (c adamCase) consts() (b1, b2, eps, stepSize, bc2sqrt, decay, l2 float64) {
	t := float64(c.t)
	bc1 := 1 - math.Pow(c.b1, t)
	bc2sqrt = math.Sqrt(1 - math.Pow(c.b2, t))
	decay, l2 = 1, c.wd
	if c.decoupled {
		decay, l2 = 1-c.lr*c.wd, 0
	}
	return c.b1, c.b2, c.eps, c.lr / bc1, bc2sqrt, decay, l2
}

func (c adamCase) adamConsts() *adamConsts {
	b1, b2, eps, stepSize, bc2sqrt, decay, l2 := c.consts()
	return &adamConsts{decay: decay, l2: l2, b1: b1, c1: 1 - b1, b2: b2, c2: 1 - b2,
		stepSize: stepSize, bc2sqrt: bc2sqrt, eps: eps, decayed: decay != 1}
}

var adamCases = []adamCase{
	{"Adam", 1e-3, 0.9, 0.999, 1e-8, 0, 1, false},
	{"AdamL2", 3e-4, 0.9, 0.999, 1e-8, 1e-4, 7, false},
	{"AdamL2Large", 0.5, 0.5, 0.9, 1e-3, 0.3, 1000, false},
	{"AdamW", 1e-3, 0.9, 0.999, 1e-8, 0.05, 3, true},
	{"AdamWNoDecay", 1e-3, 0.9, 0.999, 1e-8, 0, 2, true},
	{"AdamWLarge", 0.7, 0.2, 0.5, 1e-6, 0.9, 40, true},
}

// adamValue draws one float32 of the regime r: 0 ordinary, 1 huge, 2 tiny and subnormal, 3 signed
// zeros, 4 a mix with infinities and NaNs.
func adamValue(rng *rand.Rand, r int, scale float64, nonNeg bool) float32 {
	var x float64
	switch r {
	case 0:
		x = rng.NormFloat64() * scale
	case 1:
		x = math.Ldexp(1+rng.Float64(), 90+rng.IntN(38))
	case 2:
		x = math.Ldexp(1+rng.Float64(), -149+rng.IntN(30))
	case 3:
		x = 0
	case 4:
		specials := []float64{0, math.Inf(1), math.Inf(-1), math.NaN(), 1, 3e38, 1e-45, 1e-3}
		x = specials[rng.IntN(len(specials))]
	}
	if rng.IntN(2) == 0 {
		x = -x
	}
	if nonNeg && rng.IntN(8) != 0 {
		x = math.Abs(x)
	}
	return float32(x)
}

// adamInputs makes w, grad, m, v of length n; the regime of each element is r, or drawn per
// element when r < 0.
func adamInputs(rng *rand.Rand, n, r int) (w, grad, m, v []float32) {
	w, grad, m, v = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for j := range n {
		rr := r
		if rr < 0 {
			rr = rng.IntN(5)
		}
		w[j] = adamValue(rng, rr, 0.1, false)
		grad[j] = adamValue(rng, rr, 1e-3, false)
		m[j] = adamValue(rng, rr, 1e-3, false)
		v[j] = adamValue(rng, rr, 1e-6, true)
	}
	return w, grad, m, v
}

// sameBits reports whether got and want hold the same float32s bit for bit. Two NaNs count as
// the same whatever their signs and payloads: where two NaNs meet in an addition, which one comes
// out follows the operand order the compiler chose for the Go loop (the kernels copy Go 1.26's),
// so that is logged, not failed.
func sameBits(t *testing.T, what string, got, want []float32) bool {
	t.Helper()
	for j := range want {
		g, w := math.Float32bits(got[j]), math.Float32bits(want[j])
		if g == w {
			continue
		}
		if got[j] != got[j] && want[j] != want[j] {
			t.Logf("%s[%d]: NaN %#08x, the Go loop's is %#08x", what, j, g, w)
			continue
		}
		t.Errorf("%s[%d] = %g (%#08x), want %g (%#08x)", what, j, got[j], g, want[j], w)
		return false
	}
	return true
}

// adamCancel sets each w to about its own update (ordinary values), so that the new w is the
// small difference of two nearly equal numbers and shows the low bits of the update's float64
// arithmetic, which a float32 result otherwise rounds away: a kernel that rounds one operation
// differently then fails here. Every other element starts with zero moments, as at step 1, so
// that no larger moment absorbs the rounding of the gradient's terms.
func adamCancel(w, grad, m, v []float32, c adamCase) {
	b1, b2, eps, stepSize, bc2sqrt, decay, l2 := c.consts()
	for j := 0; j < len(w); j += 2 {
		m[j], v[j] = 0, 0
	}
	for range 2 {
		w1, m1, v1 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		adamReference(w1, grad, m1, v1, b1, b2, eps, stepSize, bc2sqrt, decay, l2)
		for j := range w {
			// w1 = float32(wj − upd), so upd ≈ wj − w1 with wj = w·decay.
			w[j] = float32((float64(w[j])*decay - float64(w1[j])) / decay)
		}
	}
}

// TestAdamUpdateMatchesReference checks adamUpdate (assembly where the CPU has it, the Go loop
// for the tail) against the reference loop bit for bit: every length 0..40 and some longer ones,
// at every start offset within a vector group, on ordinary, huge, tiny, zero and special values,
// and on parameters set to cancel their update.
func TestAdamUpdateMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lengths := []int{}
	for n := range 41 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 63, 64, 65, 1000, 4099)
	for _, c := range adamCases {
		b1, b2, eps, stepSize, bc2sqrt, decay, l2 := c.consts()
		k := c.adamConsts()
		for r := -1; r < 6; r++ {
			for _, n := range lengths {
				for off := range 8 {
					w, grad, m, v := adamInputs(rng, n+off, r%5)
					if r == 5 {
						adamCancel(w, grad, m, v, c)
					}
					w0, m0, v0 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
					adamReference(w0[off:], grad[off:], m0[off:], v0[off:], b1, b2, eps, stepSize, bc2sqrt, decay, l2)
					adamUpdate(w[off:], grad[off:], m[off:], v[off:], k)
					ok := sameBits(t, c.name+" w", w, w0) && sameBits(t, c.name+" m", m, m0) && sameBits(t, c.name+" v", v, v0)
					if !ok {
						t.Fatalf("%s: regime %d, length %d, offset %d", c.name, r, n, off)
					}
				}
			}
		}
	}
}

// TestAdamStepMatchesReference runs Adam and AdamW through Step — parameters of many sizes, some
// large enough to be cut between goroutines at unaligned points, one into several kernel calls —
// for several steps and checks every parameter and moment against the reference bit for bit.
func TestAdamStepMatchesReference(t *testing.T) {
	sizes := []int{1, 3, 4, 5, 8, 17, 40, grain, 2*grain + 3, 3*grain + 13, 1<<17 + 53}
	for _, c := range adamCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			var ps []*autodiff.Var
			var wRef, mRef, vRef [][]float32
			for _, n := range sizes {
				w, _, _, _ := adamInputs(rng, n, 0)
				p := autodiff.Param(tensor.FromSlice(w, n))
				ps = append(ps, p)
				wRef = append(wRef, append([]float32(nil), w...))
				mRef, vRef = append(mRef, make([]float32, n)), append(vRef, make([]float32, n))
			}
			cfg := AdamConfig{LR: c.lr, Beta1: c.b1, Beta2: c.b2, Eps: c.eps, WeightDecay: c.wd}
			opt := newAdam("Adam", ps, cfg, c.decoupled)
			for step := 1; step <= 4; step++ {
				cs := c
				cs.t = step
				b1, b2, eps, stepSize, bc2sqrt, decay, l2 := cs.consts()
				for i, p := range ps {
					for j := range p.Grad.Data {
						p.Grad.Data[j] = adamValue(rng, 0, 1e-2, false)
					}
					adamReference(wRef[i], p.Grad.Data, mRef[i], vRef[i], b1, b2, eps, stepSize, bc2sqrt, decay, l2)
				}
				opt.Step()
				for i, p := range ps {
					if !sameBits(t, "w", p.Value.Data, wRef[i]) || !sameBits(t, "m", opt.m.bufs[i], mRef[i]) ||
						!sameBits(t, "v", opt.v.bufs[i], vRef[i]) {
						t.Fatalf("step %d, parameter %d (%d elements)", step, i, sizes[i])
					}
				}
			}
		})
	}
}

// TestAdamConstsLayout pins the offsets the assembly reads.
func TestAdamConstsLayout(t *testing.T) {
	var k adamConsts
	if unsafe.Offsetof(k.eps) != 64 || unsafe.Offsetof(k.decayed) != 72 || unsafe.Offsetof(k.l2) != 8 ||
		unsafe.Offsetof(k.bc2sqrt) != 56 {
		t.Fatal("adamConsts layout changed; update adam_amd64.s")
	}
}
