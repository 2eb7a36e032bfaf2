package loss

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/parallel"
)

// Mining selects the triplets (anchor, positive, negative) that Triplet averages over.
type Mining int

const (
	// BatchHard takes, for every anchor, its farthest positive and its closest negative in the
	// batch and averages over the anchors that have both (Hermans, Beyer, Leibe 2017, "In Defense
	// of the Triplet Loss for Person Re-Identification", https://arxiv.org/abs/1703.07737).
	BatchHard Mining = iota
	// SemiHard takes, for every ordered positive pair (a, p), the closest negative farther than p,
	// d(a,n) > d(a,p), and when there is none the farthest negative; it averages over the positive
	// pairs whose anchor has a negative (Schroff, Kalenichenko, Philbin 2015, "FaceNet",
	// https://arxiv.org/abs/1503.03832; the selection rule of TensorFlow Addons'
	// triplet_semihard_loss).
	SemiHard
)

// String names the mining strategy.
func (m Mining) String() string {
	switch m {
	case BatchHard:
		return "batch-hard"
	case SemiHard:
		return "semi-hard"
	}
	return fmt.Sprintf("Mining(%d)", int(m))
}

// Triplet is the triplet margin loss with in-batch mining.
//
// With d(x, y) = ‖x − y‖₂ (Euclidean, not squared) and the triplets T chosen by mining,
//
//	loss = (1/|T|) Σ_{(a,p,n)∈T} max(0, d(e_a, e_p) − d(e_a, e_n) + margin)
//
// Triplets whose hinge is inactive count in |T| (they are "easy"); T is empty, and the loss 0, when
// no anchor has both a positive (another row with its label) and a negative. The embeddings are
// used as given: L2-normalise them first if the metric should be cosine (FaceNet does). Pairwise
// distances for mining come from one GEMM; the distances of the chosen triplets are then
// recomputed directly in float64, so the value and gradient do not suffer from the cancellation
// of ‖x‖² + ‖y‖² − 2x·y. At d = 0 the gradient of d is taken as 0.
//
// Arguments:
//   - emb: [N, D] embeddings; the gradient flows to emb.
//   - labels: [N] class labels, compared only for equality.
//   - margin: the margin α ≥ 0 (FaceNet 0.2 on unit vectors; Hermans et al. 0.3–0.5 for
//     re-identification).
//   - mining: BatchHard or SemiHard.
//
// Usage:
//
//	e := model.Forward(images)                      // [N, D], P classes × K images each
//	l := loss.Triplet(e, labels, 0.3, loss.BatchHard)
//	tp.Backward(l)
func Triplet(emb *autodiff.Var, labels []int, margin float32, mining Mining) *autodiff.Var {
	n, d := check2D("Triplet", "emb", emb)
	if len(labels) != n {
		panic(fmt.Sprintf("loss.Triplet: %d labels for embeddings of shape %v", len(labels), emb.Shape()))
	}
	if !(margin >= 0) {
		panic(fmt.Sprintf("loss.Triplet: margin must be ≥ 0, got %v", margin))
	}
	if mining != BatchHard && mining != SemiHard {
		panic(fmt.Sprintf("loss.Triplet: unknown mining %v", mining))
	}
	out := scalarNode("Triplet", emb)
	tp := out.Tape()
	x := emb.Data()

	// Squared distances for mining: ‖x_a‖² + ‖x_b‖² − 2·x_a·x_b.
	d2 := tp.Alloc(false, n, n).Data
	blas.Sgemm(false, true, n, n, d, -2, x, d, x, d, 0, d2, n)
	sq := make([]float32, n)
	for i := range sq {
		sq[i] = float32(dot64(x[i*d:(i+1)*d], x[i*d:(i+1)*d]))
	}
	parallel.For(n, rowGrain(n), func(lo, hi int) {
		for a := lo; a < hi; a++ {
			row := d2[a*n : (a+1)*n]
			for b := range row {
				row[b] = max(row[b]+sq[a]+sq[b], 0)
			}
		}
	})

	// Mining, per anchor in parallel.
	perAnchor := make([][]triplet, n)
	parallel.For(n, 1, func(lo, hi int) {
		for a := lo; a < hi; a++ {
			perAnchor[a] = mine(d2[a*n:(a+1)*n], labels, a, mining)
		}
	})
	var ts []triplet
	for _, t := range perAnchor {
		ts = append(ts, t...)
	}
	var total float64
	for i := range ts {
		t := &ts[i]
		t.dap = dist64(x, t.a, t.p, d)
		t.dan = dist64(x, t.a, t.n, d)
		if h := t.dap - t.dan + float64(margin); h > 0 {
			total += h
			t.active = true
		}
	}
	if len(ts) > 0 {
		out.Data()[0] = float32(total / float64(len(ts)))
	} else {
		out.Data()[0] = 0
	}

	if out.RequiresGrad() && len(ts) > 0 {
		out.SetBackward(func() {
			c := float64(out.Grad.Data[0]) / float64(len(ts))
			g := emb.GradBuf()
			for _, t := range ts {
				if !t.active {
					continue
				}
				// d(d_ap − d_an)/dx_a = (x_a−x_p)/d_ap − (x_a−x_n)/d_an; x_p, x_n get the opposite parts.
				var fp, fn float64
				if t.dap > 1e-12 {
					fp = c / t.dap
				}
				if t.dan > 1e-12 {
					fn = c / t.dan
				}
				xa, xp, xn := x[t.a*d:(t.a+1)*d], x[t.p*d:(t.p+1)*d], x[t.n*d:(t.n+1)*d]
				ga, gp, gn := g[t.a*d:(t.a+1)*d], g[t.p*d:(t.p+1)*d], g[t.n*d:(t.n+1)*d]
				for j := range xa {
					ep := fp * (float64(xa[j]) - float64(xp[j]))
					en := fn * (float64(xa[j]) - float64(xn[j]))
					ga[j] += float32(ep - en)
					gp[j] -= float32(ep)
					gn[j] += float32(en)
				}
			}
		})
	}
	return out
}

// triplet is one selected (anchor, positive, negative) with its exact distances.
type triplet struct {
	a, p, n  int
	dap, dan float64
	active   bool
}

// mine selects the triplets of anchor a from its row of squared distances.
func mine(row []float32, labels []int, a int, mining Mining) []triplet {
	la := labels[a]
	hasNeg := false
	closest := -1
	for b, l := range labels {
		if l != la {
			hasNeg = true
			if closest < 0 || row[b] < row[closest] {
				closest = b
			}
		}
	}
	if !hasNeg {
		return nil
	}
	switch mining {
	case BatchHard:
		far := -1
		for b, l := range labels {
			if b != a && l == la && (far < 0 || row[b] > row[far]) {
				far = b
			}
		}
		if far < 0 {
			return nil
		}
		return []triplet{{a: a, p: far, n: closest}}
	default: // SemiHard
		var ts []triplet
		for p, l := range labels {
			if p == a || l != la {
				continue
			}
			dap := row[p]
			pick, farthest := -1, -1
			for b, lb := range labels {
				if lb == la {
					continue
				}
				if row[b] > dap && (pick < 0 || row[b] < row[pick]) {
					pick = b
				}
				if farthest < 0 || row[b] > row[farthest] {
					farthest = b
				}
			}
			if pick < 0 {
				pick = farthest
			}
			ts = append(ts, triplet{a: a, p: p, n: pick})
		}
		return ts
	}
}

// dist64 returns ‖x_i − x_j‖₂ for rows of length d, in float64.
func dist64(x []float32, i, j, d int) float64 {
	var s float64
	for k := 0; k < d; k++ {
		t := float64(x[i*d+k]) - float64(x[j*d+k])
		s += t * t
	}
	return math.Sqrt(s)
}
