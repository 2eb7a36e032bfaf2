package eval

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// LinearOptions configures LinearProbe. The zero value is the project's protocol: 30 epochs of
// mini-batch Adam, batch 256, lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay, seed 0.
type LinearOptions struct {
	Epochs    int     // passes over the training split (default 30)
	BatchSize int     // rows per Adam step (default 256); the last, smaller batch is kept
	LR        float64 // Adam learning rate (default 1e-3)
	Beta1     float64 // Adam β₁ (default 0.9)
	Beta2     float64 // Adam β₂ (default 0.999)
	Eps       float64 // Adam ε (default 1e-8)
	// WeightDecay adds WeightDecay·W to the weight gradient (L2, as torch.optim.Adam's
	// weight_decay; the bias is not decayed). Default 0.
	WeightDecay float64
	// Seed seeds the per-epoch shuffling of the training rows.
	Seed uint64
	// Classes is the number of classes C; 0 means one more than the largest label seen.
	Classes int
	// StdFloor is the smallest standard deviation a feature is divided by (default 1e-6).
	StdFloor float64
}

func (o LinearOptions) withDefaults() LinearOptions {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Epochs == 0 {
		o.Epochs = 30
	}
	if o.BatchSize == 0 {
		o.BatchSize = 256
	}
	def(&o.LR, 1e-3)
	def(&o.Beta1, 0.9)
	def(&o.Beta2, 0.999)
	def(&o.Eps, 1e-8)
	def(&o.StdFloor, 1e-6)
	return o
}

// LinearResult is a trained linear probe and its accuracies.
type LinearResult struct {
	// TrainTop1 and TestTop1 are the top-1 accuracies of the final weights on the training and
	// test splits (TestTop1 is NaN when the test split is empty or unlabelled).
	TrainTop1, TestTop1 float64
	D, Classes          int
	// Mean and Std (len D) standardise a feature vector: (x − Mean) / Std, from the training split.
	Mean, Std []float32
	// W is [D, C] row-major and B is [C]: logits = standardised(x) · W + B.
	W, B []float32
	// EpochLoss is the mean training cross-entropy of each epoch (during training).
	EpochLoss []float64
}

// LinearProbe trains multinomial logistic regression on frozen features — the linear evaluation
// protocol of self-supervised learning (Zhang, Isola and Efros, "Colorful Image Colorization",
// ECCV 2016; Kolesnikov, Zhai and Beyer, "Revisiting Self-Supervised Visual Representation
// Learning", CVPR 2019) — and reports train and test top-1 accuracy.
//
// Each feature is standardised with the training split's mean μ and population standard
// deviation σ (floored at StdFloor): x̃ = (x − μ) / max(σ, 1e-6). With W [D, C] and b [C]
// (initialised to zero) the model and its mean softmax cross-entropy over a batch of n rows are
//
//	z = x̃ W + b,   p = softmax(z),   L = −(1/n) Σ_i log p_{i, y_i}
//	∂L/∂z = (p − onehot(y)) / n = G,   ∂L/∂W = x̃ᵀ G,   ∂L/∂b = Σ_i G_i
//
// minimised by mini-batch Adam (Kingma and Ba 2015) with bias correction, over seeded shuffles
// of the training rows. Both products use blas.Sgemm. Zero initialisation makes the problem's
// answer independent of the seed except through the batch order, and keeps the weight of a
// feature that is constant on the training split at exactly zero.
//
// Arguments: train [N, D] with trainLabels (N labels in [0, C)); test [Q, D] with testLabels
// (Q labels, or nil when only predictions are wanted; test may be empty).
//
//	res, err := eval.LinearProbe(trainH, trainY, testH, testY, eval.LinearOptions{})
//	if err != nil { ... }
//	fmt.Printf("linear top-1 %.3f (train %.3f)\n", res.TestTop1, res.TrainTop1)
func LinearProbe(train Features, trainLabels []int, test Features, testLabels []int, opt LinearOptions) (*LinearResult, error) {
	train.check("LinearProbe")
	test.check("LinearProbe")
	o := opt.withDefaults()
	switch {
	case o.Epochs < 0 || o.BatchSize < 0:
		return nil, fmt.Errorf("eval: linear probe: epochs %d and batch size %d must be positive", o.Epochs, o.BatchSize)
	case !(o.LR > 0) || !(o.Eps > 0) || !(o.StdFloor > 0) || o.WeightDecay < 0:
		return nil, fmt.Errorf("eval: linear probe: lr %v, eps %v, std floor %v must be positive and weight decay %v not negative",
			o.LR, o.Eps, o.StdFloor, o.WeightDecay)
	case o.Beta1 < 0 || o.Beta1 >= 1 || o.Beta2 < 0 || o.Beta2 >= 1:
		return nil, fmt.Errorf("eval: linear probe: betas (%v, %v) must be in [0, 1)", o.Beta1, o.Beta2)
	case o.Classes < 0:
		return nil, fmt.Errorf("eval: linear probe: Classes = %d must not be negative", o.Classes)
	case train.N == 0:
		return nil, fmt.Errorf("eval: linear probe: empty training split")
	case test.N > 0 && test.D != train.D:
		return nil, fmt.Errorf("eval: linear probe: train is [%d, %d] but test is [%d, %d]: feature sizes differ",
			train.N, train.D, test.N, test.D)
	}
	classes, err := checkLabels("linear probe train", trainLabels, train.N, o.Classes)
	if err != nil {
		return nil, err
	}
	if testLabels != nil {
		ct, err := checkLabels("linear probe test", testLabels, test.N, o.Classes)
		if err != nil {
			return nil, err
		}
		classes = max(classes, ct)
	}
	d, c := train.D, classes
	res := &LinearResult{D: d, Classes: c, W: make([]float32, d*c), B: make([]float32, c), TestTop1: math.NaN()}
	res.Mean, res.Std = standardisation(train, o.StdFloor)

	bs := min(o.BatchSize, train.N)
	xb := make([]float32, bs*d)
	yb := make([]int, bs)
	logits := make([]float32, bs*c)
	gw, gb := make([]float32, d*c), make([]float32, c)
	adamW, adamB := newAdam(d*c, o), newAdam(c, o)
	perm := seq(train.N)
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	for epoch := 0; epoch < o.Epochs; epoch++ {
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var sum float64
		for lo := 0; lo < train.N; lo += bs {
			n := min(bs, train.N-lo)
			res.gather(train, perm[lo:lo+n], xb)
			for i, r := range perm[lo : lo+n] {
				yb[i] = trainLabels[r]
			}
			loss := softmaxCrossEntropy(xb[:n*d], n, d, yb[:n], res.W, res.B, c, logits[:n*c], gw, gb)
			sum += loss * float64(n)
			if o.WeightDecay > 0 {
				for i, w := range res.W {
					gw[i] += float32(o.WeightDecay) * w
				}
			}
			adamW.step(res.W, gw)
			adamB.step(res.B, gb)
		}
		res.EpochLoss = append(res.EpochLoss, sum/float64(train.N))
	}
	res.TrainTop1 = accuracy(res.Predict(train), trainLabels)
	if test.N > 0 && testLabels != nil {
		res.TestTop1 = accuracy(res.Predict(test), testLabels)
	}
	return res, nil
}

// Predict returns the most probable class (the lowest on ties) of each row of f. It panics when
// f's feature size is not the probe's.
func (r *LinearResult) Predict(f Features) []int {
	f.check("LinearResult.Predict")
	if f.N > 0 && f.D != r.D {
		panic(fmt.Sprintf("eval.LinearResult.Predict: features are [%d, %d], the probe was trained on %d features", f.N, f.D, r.D))
	}
	const block = 1024
	c := r.Classes
	pred := make([]int, f.N)
	xb := make([]float32, min(block, f.N)*r.D)
	logits := make([]float32, min(block, f.N)*c)
	rows := make([]int, 0, block)
	for lo := 0; lo < f.N; lo += block {
		n := min(block, f.N-lo)
		rows = rows[:0]
		for i := lo; i < lo+n; i++ {
			rows = append(rows, i)
		}
		r.gather(f, rows, xb)
		r.logits(xb[:n*r.D], n, logits[:n*c])
		for i := 0; i < n; i++ {
			row := logits[i*c : (i+1)*c]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			pred[lo+i] = best
		}
	}
	return pred
}

// gather writes the standardised rows of f into dst (len(rows)·D values).
func (r *LinearResult) gather(f Features, rows []int, dst []float32) {
	d := r.D
	invStd := make([]float32, d)
	for j, s := range r.Std {
		invStd[j] = 1 / s
	}
	parallel.For(len(rows), 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			src, out := f.Row(rows[i]), dst[i*d:(i+1)*d]
			mean, inv := r.Mean[:len(src)], invStd[:len(src)]
			for j, v := range src {
				out[j] = (v - mean[j]) * inv[j]
			}
		}
	})
}

// logits computes z = x W + b for n standardised rows.
func (r *LinearResult) logits(x []float32, n int, z []float32) {
	c := r.Classes
	blas.Sgemm(false, false, n, c, r.D, 1, x, r.D, r.W, c, 0, z, c)
	for i := 0; i < n; i++ {
		row := z[i*c : (i+1)*c]
		for j := range row {
			row[j] += r.B[j]
		}
	}
}

// standardisation returns the per-feature mean and population standard deviation of f (two
// passes in float64), the deviation floored at floor.
func standardisation(f Features, floor float64) (mean, std []float32) {
	d := f.D
	m, v := make([]float64, d), make([]float64, d)
	for i := 0; i < f.N; i++ {
		for j, x := range f.Row(i) {
			m[j] += float64(x)
		}
	}
	for j := range m {
		m[j] /= float64(f.N)
	}
	for i := 0; i < f.N; i++ {
		for j, x := range f.Row(i) {
			dx := float64(x) - m[j]
			v[j] += dx * dx
		}
	}
	mean, std = make([]float32, d), make([]float32, d)
	for j := range m {
		mean[j] = float32(m[j])
		std[j] = float32(math.Max(math.Sqrt(v[j]/float64(f.N)), floor))
	}
	return mean, std
}

// softmaxCrossEntropy returns the mean softmax cross-entropy of the n rows of x [n, d] under
// z = x w + b (w [d, c], b [c]) and, when gw is not nil, writes ∂L/∂w into gw [d, c] and ∂L/∂b
// into gb [c]. z [n, c] is scratch space and ends holding ∂L/∂z.
func softmaxCrossEntropy(x []float32, n, d int, labels []int, w, b []float32, c int, z, gw, gb []float32) float64 {
	blas.Sgemm(false, false, n, c, d, 1, x, d, w, c, 0, z, c)
	var loss float64
	inv := 1 / float64(n)
	for i := 0; i < n; i++ {
		row := z[i*c : (i+1)*c]
		mx := math.Inf(-1)
		for j := range row {
			row[j] += b[j]
			mx = math.Max(mx, float64(row[j]))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - mx)
		}
		lse := mx + math.Log(s)
		loss += lse - float64(row[labels[i]])
		for j, v := range row {
			g := math.Exp(float64(v)-lse) * inv
			if j == labels[i] {
				g -= inv
			}
			row[j] = float32(g)
		}
	}
	if gw != nil {
		// ∂L/∂w [d, c] = xᵀ [d, n] · G [n, c]
		blas.Sgemm(true, false, d, c, n, 1, x, d, z, c, 0, gw, c)
		for j := range gb {
			gb[j] = 0
		}
		for i := 0; i < n; i++ {
			for j, g := range z[i*c : (i+1)*c] {
				gb[j] += g
			}
		}
	}
	return loss * inv
}

// adam is Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015) for one
// parameter slice: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − lr·m̂/(√v̂ + ε), with
// m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) — torch.optim.Adam's update.
type adam struct {
	m, v                  []float64
	t                     int
	lr, beta1, beta2, eps float64
}

func newAdam(n int, o LinearOptions) *adam {
	return &adam{m: make([]float64, n), v: make([]float64, n), lr: o.LR, beta1: o.Beta1, beta2: o.Beta2, eps: o.Eps}
}

func (a *adam) step(p, g []float32) {
	a.t++
	bc1 := 1 - math.Pow(a.beta1, float64(a.t))
	bc2 := 1 - math.Pow(a.beta2, float64(a.t))
	for i, gi := range g {
		gf := float64(gi)
		a.m[i] = a.beta1*a.m[i] + (1-a.beta1)*gf
		a.v[i] = a.beta2*a.v[i] + (1-a.beta2)*gf*gf
		p[i] -= float32(a.lr * (a.m[i] / bc1) / (math.Sqrt(a.v[i]/bc2) + a.eps))
	}
}

func accuracy(pred, labels []int) float64 {
	if len(labels) == 0 {
		return math.NaN()
	}
	hit := 0
	for i, y := range labels {
		if pred[i] == y {
			hit++
		}
	}
	return float64(hit) / float64(len(labels))
}
