package autodiff_test

import (
	"math"
	"testing"

	ad "github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/gradcheck"
	"github.com/contrastive-go/contrastive/internal/testvec"
	"github.com/contrastive-go/contrastive/tensor"
)

// TestBatchNorm2dMatchesPyTorch checks training output, running statistics, gradients and the
// evaluation output after the update against PyTorch.
//
// In large_mean_small_var (x ≈ 100 ± 0.01) merely rounding x to float32 moves it by up to 3.8e-6,
// i.e. 4e-4 of a standard deviation, so no float32 implementation can meet 1e-4 there; that case
// is compared with PyTorch at 2e-3 and, at the full 1e-4, with the same formulas evaluated in
// float64 on the float32-rounded input (which a one-pass E[x²]−E[x]² variance misses by far).
func TestBatchNorm2dMatchesPyTorch(t *testing.T) {
	for _, c := range opCases(t, "batchnorm2d") {
		t.Run(c.name(), func(t *testing.T) {
			tol := tol32
			if c.name() == "large_mean_small_var" {
				tol = 2e-3
			}
			tp := ad.NewTape()
			x := tp.Variable(c.t32(t, "x"))
			gamma, beta := ad.Param(c.t32(t, "weight")), ad.Param(c.t32(t, "bias"))
			rm, rv := c.t32(t, "running_mean_in"), c.t32(t, "running_var_in")
			mom, eps := float32(c.num(t, "momentum")), float32(c.num(t, "eps"))
			out := ad.BatchNorm(x, gamma, beta, rm, rv, true, mom, eps)
			testvec.Close(t, "output", out.Data(), c.tensor(t, "output"), tol)
			testvec.Close(t, "running_mean_out", rm.Data, c.tensor(t, "running_mean_out"), tol32)
			testvec.Close(t, "running_var_out", rv.Data, c.tensor(t, "running_var_out"), tol32)
			r := c.t32(t, "R")
			backwardWithR(tp, out, r)
			testvec.Close(t, "grad_x", x.Grad.Data, c.tensor(t, "grad_x"), tol)
			testvec.Close(t, "grad_weight", gamma.Grad.Data, c.tensor(t, "grad_weight"), tol)
			testvec.Close(t, "grad_bias", beta.Grad.Data, c.tensor(t, "grad_bias"), tol)

			want := naiveBatchNorm(x.Value, gamma.Value, beta.Value, r, float64(eps))
			testvec.Close(t, "output (float64 on float32 input)", out.Data(), want.y, tol32)
			testvec.Close(t, "grad_x (float64 on float32 input)", x.Grad.Data, want.gx, tol32)
			testvec.Close(t, "grad_weight (float64 on float32 input)", gamma.Grad.Data, want.gg, tol32)

			rm0, rv0 := rm.Clone(), rv.Clone()
			ev := ad.NewTape()
			ev.NoGrad = true
			y := ad.BatchNorm(ev.Constant(c.t32(t, "x")), gamma, beta, rm, rv, false, mom, eps)
			testvec.Close(t, "output_eval_after_update", y.Data(), c.tensor(t, "output_eval_after_update"), tol32)
			if !equal(rm.Data, rm0.Data) || !equal(rv.Data, rv0.Data) {
				t.Errorf("evaluation mode changed the running statistics")
			}
		})
	}
}

type bnRef struct{ y, gx, gg testvec.Tensor }

// naiveBatchNorm is training-mode BatchNorm2d and its gradients for S = Σ y·r, in float64.
func naiveBatchNorm(x, gamma, beta, r *tensor.Tensor, eps float64) bnRef {
	n, c, hw := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	m := float64(n * hw)
	ref := bnRef{
		y:  testvec.Tensor{Shape: x.Shape, Data: make([]float64, len(x.Data))},
		gx: testvec.Tensor{Shape: x.Shape, Data: make([]float64, len(x.Data))},
		gg: testvec.Tensor{Shape: []int{c}, Data: make([]float64, c)},
	}
	for ch := 0; ch < c; ch++ {
		idx := func(i, j int) int { return (i*c+ch)*hw + j }
		var mu, vr, sr, srx float64
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				mu += float64(x.Data[idx(i, j)]) / m
			}
		}
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				d := float64(x.Data[idx(i, j)]) - mu
				vr += d * d / m
			}
		}
		is, g := 1/math.Sqrt(vr+eps), float64(gamma.Data[ch])
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				xh := (float64(x.Data[idx(i, j)]) - mu) * is
				ref.y.Data[idx(i, j)] = g*xh + float64(beta.Data[ch])
				sr += float64(r.Data[idx(i, j)])
				srx += float64(r.Data[idx(i, j)]) * xh
			}
		}
		ref.gg.Data[ch] = srx
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				xh := (float64(x.Data[idx(i, j)]) - mu) * is
				ref.gx.Data[idx(i, j)] = g * is * (float64(r.Data[idx(i, j)]) - sr/m - xh*srx/m)
			}
		}
	}
	return ref
}

func equal(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestBatchNormGradients(t *testing.T) {
	cases := []struct {
		name     string
		x        []int
		affine   bool
		training bool
	}{
		{"2d_affine", []int{3, 4, 5, 3}, true, true},
		{"2d_no_affine", []int{2, 3, 4, 4}, false, true},
		{"2d_batch1", []int{1, 2, 3, 5}, true, true},
		{"2d_1x1_spatial", []int{4, 3, 1, 1}, true, true},
		{"1d_affine", []int{6, 5}, true, true},
		{"1d_no_affine", []int{5, 3}, false, true},
		{"2d_eval", []int{3, 4, 3, 3}, true, false},
		{"1d_eval", []int{4, 3}, true, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := c.x[1]
			inputs := []*tensor.Tensor{gradcheck.Random(uint64(i+1), c.x...)}
			if c.affine {
				g := gradcheck.Random(uint64(i+50), ch)
				for j := range g.Data {
					g.Data[j] = 1 + 0.5*g.Data[j]
				}
				inputs = append(inputs, g, gradcheck.Random(uint64(i+60), ch))
			}
			rm, rv := tensor.New(ch), tensor.New(ch)
			for j := range rv.Data {
				rm.Data[j], rv.Data[j] = 0.1*float32(j), 0.5+0.25*float32(j)
			}
			f := func(tp *ad.Tape, in []*ad.Var) *ad.Var {
				var g, b *ad.Var
				if c.affine {
					g, b = in[1], in[2]
				}
				// Copies: training mode updates the running statistics on every evaluation.
				return ad.BatchNorm(in[0], g, b, rm.Clone(), rv.Clone(), c.training, 0.1, 1e-5)
			}
			gradcheck.Check(t, c.name, f, inputs, gradcheck.Options{Seed: uint64(i), Probes: 40})
		})
	}
}

// TestBatchNormStatistics checks what training mode computes on a batch whose statistics are
// known exactly, including the running-stat update with the unbiased variance.
func TestBatchNormStatistics(t *testing.T) {
	// Channel 0 holds 1,2,3,4 (mean 2.5, biased var 1.25, unbiased 5/3); channel 1 holds 10 x4.
	x := tensor.FromSlice([]float32{1, 10, 2, 10, 3, 10, 4, 10}, 4, 2)
	rm, rv := tensor.FromSlice([]float32{1, 1}, 2), tensor.FromSlice([]float32{1, 1}, 2)
	tp := ad.NewTape()
	y := ad.BatchNorm(tp.Constant(x), nil, nil, rm, rv, true, 0.1, 0)
	want := []float64{(1 - 2.5) / math.Sqrt(1.25), 0, (2 - 2.5) / math.Sqrt(1.25), 0, (3 - 2.5) / math.Sqrt(1.25), 0, (4 - 2.5) / math.Sqrt(1.25), 0}
	for i, w := range want {
		if d := math.Abs(float64(y.Data()[i]) - w); d > 1e-5 && !(w == 0 && math.IsNaN(float64(y.Data()[i]))) {
			t.Errorf("y[%d] = %v, want %v", i, y.Data()[i], w)
		}
	}
	wantRM := []float64{0.9 + 0.25, 0.9 + 1}
	wantRV := []float64{0.9 + 0.1*5.0/3, 0.9}
	for j := 0; j < 2; j++ {
		if math.Abs(float64(rm.Data[j])-wantRM[j]) > 1e-6 || math.Abs(float64(rv.Data[j])-wantRV[j]) > 1e-6 {
			t.Errorf("channel %d: running mean %v var %v, want %v %v", j, rm.Data[j], rv.Data[j], wantRM[j], wantRV[j])
		}
	}
}
