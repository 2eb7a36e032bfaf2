package loss

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
)

// ContrastiveMargin is the margin-based contrastive loss for pairs.
//
// "Dimensionality Reduction by Learning an Invariant Mapping", Hadsell, Chopra, LeCun, 2006
// (CVPR), equation 4. With d_i = ‖x1_i − x2_i‖₂ (Euclidean distance between the two members of
// pair i),
//
//	l_i  = ½·d_i²                  if pair i is similar   (same[i] = true)
//	l_i  = ½·max(0, margin − d_i)²  if it is dissimilar    (same[i] = false)
//	loss = (1/N) Σ_i l_i
//
// Similar pairs are pulled together; dissimilar pairs are pushed apart until they are margin
// apart. (The paper writes Y = 0 for similar pairs; same[i] = true is that case.) Distances are
// accumulated in float64; for a dissimilar pair at distance exactly 0 the direction is undefined
// and its gradient is taken as 0.
//
// Arguments:
//   - x1, x2: [N, D] embeddings of the two members of each pair (usually the same siamese network
//     applied to both); the gradient flows to both.
//   - same: [N] true where the pair is similar (same class), false where dissimilar.
//   - margin: m > 0, the distance beyond which dissimilar pairs cost nothing (the paper uses 1
//     for its unnormalised outputs; for unit-norm embeddings 0.5–1 is usual).
//
// Usage:
//
//	e1, e2 := net.Forward(left), net.Forward(right)
//	l := loss.ContrastiveMargin(e1, e2, sameClass, 1.0)
//	tp.Backward(l)
func ContrastiveMargin(x1, x2 *autodiff.Var, same []bool, margin float32) *autodiff.Var {
	n, d := check2D("ContrastiveMargin", "x1", x1)
	if r, c := check2D("ContrastiveMargin", "x2", x2); r != n || c != d {
		panic(fmt.Sprintf("loss.ContrastiveMargin: x1 %v and x2 %v must have the same shape", x1.Shape(), x2.Shape()))
	}
	if len(same) != n {
		panic(fmt.Sprintf("loss.ContrastiveMargin: %d pair flags for %d pairs (x1 %v)", len(same), n, x1.Shape()))
	}
	if n == 0 {
		panic("loss.ContrastiveMargin: no pairs")
	}
	if !(margin > 0) {
		panic(fmt.Sprintf("loss.ContrastiveMargin: margin must be > 0, got %v", margin))
	}
	out := scalarNode("ContrastiveMargin", x1, x2)
	a, b := x1.Data(), x2.Data()
	m := float64(margin)
	// coef[i] is dl_i/d(diff) / diff, so that dl_i/dx1 = coef·(x1−x2).
	coef := make([]float64, n)
	var total float64
	for i := 0; i < n; i++ {
		dist := dist2(a[i*d:(i+1)*d], b[i*d:(i+1)*d])
		if same[i] {
			total += 0.5 * dist * dist
			coef[i] = 1
		} else if h := m - dist; h > 0 {
			total += 0.5 * h * h
			if dist > 1e-12 {
				coef[i] = -h / dist
			}
		}
	}
	out.Data()[0] = float32(total / float64(n))
	if out.RequiresGrad() {
		out.SetBackward(func() {
			g := float64(out.Grad.Data[0]) / float64(n)
			var ga, gb []float32
			if x1.RequiresGrad() {
				ga = x1.GradBuf()
			}
			if x2.RequiresGrad() {
				gb = x2.GradBuf()
			}
			for i := 0; i < n; i++ {
				if coef[i] == 0 {
					continue
				}
				f := g * coef[i]
				for j := i * d; j < (i+1)*d; j++ {
					v := float32(f * (float64(a[j]) - float64(b[j])))
					if ga != nil {
						ga[j] += v
					}
					if gb != nil {
						gb[j] -= v
					}
				}
			}
		})
	}
	return out
}

// dist2 returns ‖a − b‖₂ in float64.
func dist2(a, b []float32) float64 {
	var s float64
	for i := range a {
		t := float64(a[i]) - float64(b[i])
		s += t * t
	}
	return math.Sqrt(s)
}
