package winograd

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// torchErrors is testdata/torch_errors.json, written by testdata/make_torch_errors.py: PyTorch
// float32's error, against PyTorch float64, on each 3×3 stride-1 convolution shape of ResNet-18
// and the reference model.
type torchErrors struct {
	Torch  string `json:"torch"`
	Shapes []struct {
		Name               string `json:"name"`
		N, Cin, Cout, Side int
		Kind               string
		NCHW               map[string]errPair `json:"nchw"`
		ChannelsLast       map[string]errPair `json:"channels_last"`
		SumX, SumW, SumDY  float64            `json:"-"`
		RawSumX            float64            `json:"sum_x"`
		RawSumW            float64            `json:"sum_w"`
		RawSumDY           float64            `json:"sum_dy"`
	} `json:"shapes"`
}

// errPair is max |got − ref| / max |ref| and the relative RMS error ‖got − ref‖ / ‖ref‖.
type errPair struct{ Max, RMS float64 }

func errorsOf(got []float32, ref []float64) errPair {
	var dmax, rmax, d2, r2 float64
	for i, r := range ref {
		d := float64(got[i]) - r
		dmax, rmax = math.Max(dmax, math.Abs(d)), math.Max(rmax, math.Abs(r))
		d2 += d * d
		r2 += r * r
	}
	return errPair{dmax / rmax, math.Sqrt(d2 / r2)}
}

// hashUniform is make_torch_errors.py's hash_uniform: murmur3's 32-bit finaliser of
// i·2654435761 + seed·40503 + 12345, as a uniform value in [0, 1).
func hashUniform(i, seed uint64) float64 {
	h := (i*2654435761 + seed*40503 + 12345) & 0xffffffff
	h ^= h >> 16
	h = (h * 0x85ebca6b) & 0xffffffff
	h ^= h >> 13
	h = (h * 0xc2b2ae35) & 0xffffffff
	h ^= h >> 16
	return float64(h) / (1 << 32)
}

// hashInputs is make_torch_errors.py's inputs: x ("signed": uniform in [−1, 1); "relu":
// max(0, 4u − 2), about half zeros), w uniform with variance 1/(9·Cin), dy uniform in [−1, 1).
func hashInputs(s Shape, kind string) (x, w, dy []float32) {
	x = make([]float32, s.N*s.Cin*s.H*s.W)
	for i := range x {
		u := hashUniform(uint64(i), 1)
		if kind == "signed" {
			x[i] = float32(2*u - 1)
		} else {
			x[i] = float32(math.Max(0, 4*u-2))
		}
	}
	w = make([]float32, s.Cout*s.Cin*9)
	for i := range w {
		w[i] = float32((2*hashUniform(uint64(i), 2) - 1) * math.Sqrt(3/float64(9*s.Cin)))
	}
	dy = make([]float32, s.N*s.Cout*s.H*s.W)
	for i := range dy {
		dy[i] = float32(2*hashUniform(uint64(i), 3) - 1)
	}
	return x, w, dy
}

func sum64(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s
}

// directF32 is the direct convolution in float32 (sums in the loop order of direct), the
// error a naive float32 implementation makes.
func directF32(s Shape, x, w, dy []float32) (y, dx, dw []float32) {
	h, wd := s.H, s.W
	y = make([]float32, s.N*s.Cout*h*wd)
	dx = make([]float32, s.N*s.Cin*h*wd)
	dw = make([]float32, s.Cout*s.Cin*9)
	for n := 0; n < s.N; n++ {
		for o := 0; o < s.Cout; o++ {
			for c := 0; c < s.Cin; c++ {
				xp, dxp := x[(n*s.Cin+c)*h*wd:], dx[(n*s.Cin+c)*h*wd:]
				wf, dwf := w[(o*s.Cin+c)*9:], dw[(o*s.Cin+c)*9:]
				yp, dyp := y[(n*s.Cout+o)*h*wd:], dy[(n*s.Cout+o)*h*wd:]
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						wv := wf[ky*3+kx]
						var gw float32
						for oy := max(0, 1-ky); oy < min(h, h+1-ky); oy++ {
							iy := oy - 1 + ky
							for ox := max(0, 1-kx); ox < min(wd, wd+1-kx); ox++ {
								ix := ox - 1 + kx
								yp[oy*wd+ox] += wv * xp[iy*wd+ix]
								dxp[iy*wd+ix] += wv * dyp[oy*wd+ox]
								gw += xp[iy*wd+ix] * dyp[oy*wd+ox]
							}
						}
						dwf[ky*3+kx] += gw
					}
				}
			}
		}
	}
	return y, dx, dw
}

// maxTorchRatio is the accuracy bound: on every shape, each of y, dx and dw, both the max and
// the RMS error against float64 are at most this multiple of PyTorch float32's in its default
// NCHW format (the smaller of its two formats' errors: channels_last's are up to 3× larger) on
// the same inputs.
const maxTorchRatio = 2.0

// TestAccuracyAgainstPyTorch computes every 3×3 stride-1 convolution shape of ResNet-18 (CIFAR
// stem on 28×28, ImageNet stem on 96×96 photos: 7×7, 3×3 and the like have partial tiles) and of
// the reference model with Winograd (the AVX-512 path where the CPU has it and the channels
// allow, else the plain Go one), and holds its errors against a float64 direct convolution to
// maxTorchRatio × PyTorch float32's on the same inputs. It logs both, and a naive float32 direct
// convolution's, for the record.
func TestAccuracyAgainstPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("float64 direct convolutions of every ResNet-18 shape take seconds")
	}
	raw, err := os.ReadFile("testdata/torch_errors.json")
	if err != nil {
		t.Fatal(err)
	}
	var te torchErrors
	if err := json.Unmarshal(raw, &te); err != nil {
		t.Fatal(err)
	}
	if len(te.Shapes) < 10 {
		t.Fatalf("torch_errors.json has %d shapes, want the 10 of make_torch_errors.py", len(te.Shapes))
	}
	worst := 0.0
	for _, c := range te.Shapes {
		s := Shape{N: c.N, Cin: c.Cin, Cout: c.Cout, H: c.Side, W: c.Side}
		x, w, dy := hashInputs(s, c.Kind)
		for _, chk := range []struct {
			name      string
			got, want float64
		}{{"x", sum64(x), c.RawSumX}, {"w", sum64(w), c.RawSumW}, {"dy", sum64(dy), c.RawSumDY}} {
			if math.Abs(chk.got-chk.want) > 1e-9*math.Max(1, math.Abs(chk.want)) {
				t.Fatalf("%s: Σ%s = %v, PyTorch's inputs sum to %v: not the same inputs", c.Name, chk.name, chk.got, chk.want)
			}
		}
		refY, refDX, refDW := direct(s, x, w, dy)
		y := make([]float32, len(refY))
		Forward(s, x, w, nil, y)
		dx, dw := make([]float32, len(refDX)), make([]float32, len(refDW))
		InputGrad(s, dy, w, dx)
		WeightGrad(s, x, dy, dw)
		ny, ndx, ndw := directF32(s, x, w, dy)
		path := "plain Go"
		if Fast(s.Cin, s.Cout) {
			path = "AVX-512"
		}
		for _, out := range []struct {
			name       string
			got, naive []float32
			ref        []float64
		}{{"y", y, ny, refY}, {"dx", dx, ndx, refDX}, {"dw", dw, ndw, refDW}} {
			ours, naive := errorsOf(out.got, out.ref), errorsOf(out.naive, out.ref)
			pt, cl := c.NCHW[out.name], c.ChannelsLast[out.name]
			rMax, rRMS := ours.Max/pt.Max, ours.RMS/pt.RMS
			worst = math.Max(worst, math.Max(rMax, rRMS))
			t.Logf("%-26s %-2s (%s): winograd max %.2e rms %.2e | pytorch f32 NCHW max %.2e rms %.2e, channels_last %.2e %.2e | ratio to NCHW %.2f %.2f | naive f32 %.2e %.2e",
				c.Name, out.name, path, ours.Max, ours.RMS, pt.Max, pt.RMS, cl.Max, cl.RMS, rMax, rRMS, naive.Max, naive.RMS)
			if rMax > maxTorchRatio || rRMS > maxTorchRatio {
				t.Errorf("%s %s: error max %.3g, rms %.3g is more than %g× PyTorch float32's (%.3g, %.3g)",
					c.Name, out.name, ours.Max, ours.RMS, maxTorchRatio, pt.Max, pt.RMS)
			}
		}
	}
	t.Logf("worst ratio to PyTorch float32 (%s): %.2f", te.Torch, worst)
}
