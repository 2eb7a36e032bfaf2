package loss

import (
	"fmt"
	"math"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/parallel"
	"github.com/contrastive-go/contrastive/tensor"
)

// DINO is the self-distillation loss of DINO: the student's distribution over K outputs for each
// view is trained towards the teacher's centred and sharpened distribution for every other
// (global) view.
//
// "Emerging Properties in Self-Supervised Vision Transformers", Caron, Touvron, Misra, Jégou,
// Mairal, Bojanowski, Joulin, ICCV 2021 (https://arxiv.org/abs/2104.14294), Algorithm 1 and the
// official DINOLoss. student holds V views of N images view-major (row v·N + i is view v of image
// i) and teacher the first G of them (the global views) from the teacher network. With
// P_t^g[i] = softmax((t_g[i] − c)/τ_t) and P_s^v[i] = softmax(s_v[i]/τ_s),
//
//	loss = (1/(G·(V−1))) Σ_{g<G} Σ_{v≠g} (1/N) Σ_i −Σ_k P_t^g[i,k]·log P_s^v[i,k]
//
// The teacher term is a constant (the teacher is an EMA of the student, updated without
// gradient); the caller updates the centre after the step, c ← m·c + (1−m)·mean_rows(teacher)
// (DINOCenter).
//
// Arguments:
//   - student: [V·N, K] student logits, V ≥ 2; the gradient flows to them.
//   - teacher: [G·N, K] teacher logits (constants), 1 ≤ G ≤ V.
//   - center: [K] the running centre c of the teacher logits.
//   - n: the number of images N.
//   - tauS, tauT: the student and teacher temperatures (paper: 0.1, and 0.04 warmed up to
//     0.07 over the first 30 epochs; a teacher sharper than the student avoids collapse).
//
// Usage:
//
//	s := head(student.Forward(x))                  // [V·N, K]
//	t := head(teacher.Forward(globalViews))        // [2N, K], no gradient
//	l := loss.DINO(s, t.Value, center, n, 0.1, 0.04)
//	loss.DINOCenter(center, t.Value, 0.9)          // after the step
func DINO(student *autodiff.Var, teacher, center *tensor.Tensor, n int, tauS, tauT float32) *autodiff.Var {
	_, k := check2D("DINO", "student", student)
	if teacher == nil || teacher.Dims() != 2 || teacher.Shape[1] != k {
		var ts any = "nil"
		if teacher != nil {
			ts = teacher.Shape
		}
		panic(fmt.Sprintf("loss.DINO: teacher %v must be [G·N, %d] to match student %v", ts, k, student.Shape()))
	}
	if center == nil || center.Numel() != k {
		panic(fmt.Sprintf("loss.DINO: center must hold %d values (student %v)", k, student.Shape()))
	}
	checkTau("DINO", tauT)
	rows := teacher.Shape[0]
	targets := student.Tape().Alloc(false, rows, k)
	inv := 1 / tauT
	c := center.Data
	parallel.For(rows, rowGrain(k), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			src, dst := teacher.Data[r*k:(r+1)*k], targets.Data[r*k:(r+1)*k]
			for j, v := range src {
				dst[j] = v - c[j]
			}
			softmaxRow(dst, -1, inv)
		}
	})
	return swappedPrediction("DINO", student, targets, n, tauS)
}

// DINOCenter updates the centre of the teacher logits in place with their batch mean:
// c ← m·c + (1−m)·(1/R) Σ_r teacher[r]  (the paper's m = 0.9).
func DINOCenter(center, teacher *tensor.Tensor, m float32) {
	rows, k := teacher.Shape[0], teacher.Shape[1]
	if center.Numel() != k || rows == 0 {
		panic(fmt.Sprintf("loss.DINOCenter: center of %d values for teacher %v", center.Numel(), teacher.Shape))
	}
	if !(m >= 0 && m <= 1) || math.IsNaN(float64(m)) {
		panic(fmt.Sprintf("loss.DINOCenter: momentum %v outside [0, 1]", m))
	}
	for j := range k {
		var s float64
		for r := range rows {
			s += float64(teacher.Data[r*k+j])
		}
		center.Data[j] = m*center.Data[j] + (1-m)*float32(s/float64(rows))
	}
}
