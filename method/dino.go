package method

import (
	"cmp"
	"fmt"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/tensor"
)

// DINO is self-distillation with no labels: a student network is trained to match, for every
// view, the output distribution a teacher network gives for the other (global) views; the
// teacher is an exponential moving average of the student, its outputs centred and sharpened.
//
// "Emerging Properties in Self-Supervised Vision Transformers", Caron, Touvron, Misra, Jégou,
// Mairal, Bojanowski, Joulin, ICCV 2021 (https://arxiv.org/abs/2104.14294), Algorithm 1. The
// DINO head is the model's projection head g followed by an L2 normalisation and a
// weight-normalised linear layer to K outputs (weight_g fixed to 1, the paper's
// norm_last_layer): with V the last layer's [K, D] weights,
//
//	student  s_v = normalize(g(f(x_v)))·normalize_rows(V)ᵀ        (all views, local ones too)
//	teacher  t_g = normalize(g_t(f_t(x_g)))·normalize_rows(V_t)ᵀ  (the 2 global views, no gradient)
//	loss     = loss.DINO(s, t, c, τ_s, τ_t)                       (τ_s default 0.1, τ_t 0.04)
//	after each step:  θ_t ← m(p)·θ_t + (1−m(p))·θ  (encoder, head and V;
//	                  m(p) = 1 − (1−m₀)(cos(πp)+1)/2, m₀ = 0.996)
//	                  c ← 0.9·c + 0.1·mean(t)
//
// Choices, and why:
//
//   - The teacher temperature stays at the paper's starting 0.04: its warm-up to 0.07 spans 30
//     epochs, longer than the runs here.
//   - The last layer is frozen for the first FreezeSteps steps (313; the paper's
//     freeze_last_layer is one epoch), which the paper needs for stability.
//   - Local views go through the networks in their own forward pass (their size differs), as the
//     official MultiCropWrapper groups crops by resolution; the teacher sees global views only.
//   - No gradient clipping (the paper clips at 3.0 for ViTs).
//
// Data-parallel (Config.Comm): the student's and the teacher's BatchNorm are synchronised (as
// the official code converts both), each rank's loss is that of its own images (their mean
// over the ranks the global loss), and the centre is updated with the mean of the teacher
// outputs over the global batch (all-reduced, the official update_center), so it stays the
// same on every rank and equal to one process's.
//
// Config: Temperature (τ_s, default 0.1), Prototypes (K, default 1024), Momentum (m₀, default
// 0.996), Seed. State holds the teacher ("teacher.…"), both last layers, the centre and the
// step counter.
type DINO struct {
	model, teacher    *models.Model
	last, teacherLast *autodiff.Var // [K, D] weight_v of the weight-normalised last layers
	center            *tensor.Tensor
	tauS, tauT        float32
	base              float64
	// CenterMomentum is the centre's EMA rate (0.9).
	CenterMomentum float32
	// FreezeSteps is the number of first steps during which the last layer does not learn.
	FreezeSteps int
	steps       int
	pending     *tensor.Tensor // teacher outputs of the last Loss (their global mean on several ranks), for the centre update
	dp          dataParallel
}

func init() {
	Register("dino", Factory{DataParallel: true, MultiCrop: true, New: func(m *models.Model, cfg Config) (Method, error) { return NewDINO(m, cfg) }})
}

// NewDINO builds DINO around m; see DINO for the defaults.
func NewDINO(m *models.Model, cfg Config) (*DINO, error) {
	tau := cmp.Or(cfg.Temperature, 0.1)
	if !(tau > 0) {
		return nil, fmt.Errorf("dino: temperature %g must be positive", tau)
	}
	base := cmp.Or(cfg.EMAMomentum, 0.996)
	if err := checkMomentum("dino", base); err != nil {
		return nil, err
	}
	k := cfg.Prototypes
	if k == 0 {
		k = 1024
	}
	if k < 2 {
		return nil, fmt.Errorf("dino: output width %d; want at least 2", k)
	}
	t, err := newTarget(m)
	if err != nil {
		return nil, fmt.Errorf("dino: %w", err)
	}
	v := randomUnitRows(k, m.ProjDim, cfg.Seed^0x64696e6f)
	last := autodiff.Param(v)
	last.Name = "dino.last_layer"
	tl := autodiff.Param(v.Clone())
	tl.Name = "dino.teacher_last_layer"
	return &DINO{
		model: m, teacher: t, last: last, teacherLast: tl, center: tensor.New(k),
		tauS: float32(tau), tauT: 0.04, base: base, CenterMomentum: 0.9, FreezeSteps: 313,
		dp: newDataParallel(cfg),
	}, nil
}

// Loss implements Method.
func (s *DINO) Loss(b Batch) *autodiff.Var {
	if b.V != 2 {
		panic(fmt.Sprintf("method.DINO: need 2 global views, got %d", b.V))
	}
	tp := b.X.Tape()
	// The student's last layer enters the tape as v + 0 so that it can be normalised with a
	// gradient (an op needs a tape input); frozen, it is a constant.
	v := tp.Constant(s.last.Value)
	if s.steps >= s.FreezeSteps {
		v = autodiff.Add(s.last, tp.Constant(tp.Alloc(true, s.last.Value.Shape...)))
	}
	w := autodiff.L2Normalize(v, 1e-12)
	parts := forward(s.dp, tp, func() []*autodiff.Var {
		var parts []*autodiff.Var
		for _, x := range allViews(b) {
			parts = append(parts, autodiff.Linear(autodiff.L2Normalize(s.model.Forward(x), 1e-12), w, nil))
		}
		return parts
	})
	student := parts[0]
	if len(parts) > 1 {
		student = autodiff.Concat(0, parts...)
	}
	teacher := forward(s.dp, tp, func() *autodiff.Var {
		return noGrad(tp, func() *autodiff.Var {
			wt := tp.Alloc(false, s.teacherLast.Value.Shape...)
			copy(wt.Data, s.teacherLast.Value.Data)
			d := wt.Shape[1]
			for i := range wt.Shape[0] {
				normalizeRow(wt.Data[i*d : (i+1)*d])
			}
			return autodiff.Linear(autodiff.L2Normalize(s.teacher.Forward(b.X), 1e-12), tp.Constant(wt), nil)
		})
	})
	l := loss.DINO(student, teacher.Value, s.center, b.N, s.tauS, s.tauT)
	s.keep(teacher.Value)
	return l
}

// keep stores the teacher outputs t ([G·n, K]) for AfterStep's centre update; on several ranks
// their mean over the global batch, as the official update_center's all-reduce: each rank's
// column sums (float64) are summed over the ranks and divided by the global number of rows,
// one row that DINOCenter then averages alone.
func (s *DINO) keep(t *tensor.Tensor) {
	shape := t.Shape
	if s.dp.on() {
		shape = []int{1, t.Shape[1]}
	}
	if s.pending == nil || !tensor.SameShape(s.pending.Shape, shape) {
		s.pending = tensor.New(shape...)
	}
	if !s.dp.on() {
		copy(s.pending.Data, t.Data)
		return
	}
	rows, k := t.Shape[0], t.Shape[1]
	sum := make([]float64, k)
	for r := range rows {
		for j, v := range t.Data[r*k : (r+1)*k] {
			sum[j] += float64(v)
		}
	}
	s.dp.comm.AllReduce64(sum)
	total := float64(rows * s.dp.comm.Size())
	for j, v := range sum {
		s.pending.Data[j] = float32(v / total)
	}
}

// Momentum returns the teacher's EMA rate after a step at the given progress.
func (s *DINO) Momentum(progress float64) float64 { return cosineMomentum(s.base, progress) }

// Params implements Method: the student (encoder, head) and its last layer.
func (s *DINO) Params() []*autodiff.Var { return append(s.model.Params(), s.last) }

// AfterStep implements Method: the teacher's EMA update (encoder, head, last layer) and the
// centre's update with the last Loss's teacher outputs.
func (s *DINO) AfterStep(progress float64) {
	m := float32(s.Momentum(progress))
	models.EMAUpdate(s.teacher, s.model, m)
	for i, x := range s.last.Value.Data {
		s.teacherLast.Value.Data[i] = m*s.teacherLast.Value.Data[i] + (1-m)*x
	}
	if s.pending != nil {
		loss.DINOCenter(s.center, s.pending, s.CenterMomentum)
		s.pending = nil
	}
	s.steps++
}

// Model implements Method.
func (s *DINO) Model() *models.Model { return s.model }

// Teacher returns the teacher network (encoder and head).
func (s *DINO) Teacher() *models.Model { return s.teacher }

// Center returns the centre of the teacher outputs, [K] (the method's own tensor).
func (s *DINO) Center() *tensor.Tensor { return s.center }

// State implements Method: "teacher.…", "last_layer", "teacher_last_layer", "center", "steps".
func (s *DINO) State() map[string]*tensor.Tensor {
	st := map[string]*tensor.Tensor{
		"last_layer":         s.last.Value.Clone(),
		"teacher_last_layer": s.teacherLast.Value.Clone(),
		"center":             s.center.Clone(),
		"steps":              u64Tensor(uint64(s.steps)),
	}
	modelState("teacher", s.teacher, st)
	return st
}

// LoadState implements Method. It fails, changing nothing, on a state of another shape.
func (s *DINO) LoadState(st map[string]*tensor.Tensor) error {
	if err := checkKeys(st, []string{"teacher"}, "last_layer", "teacher_last_layer", "center", "steps"); err != nil {
		return fmt.Errorf("dino: %w", err)
	}
	for name, want := range map[string]*tensor.Tensor{"last_layer": s.last.Value, "teacher_last_layer": s.teacherLast.Value, "center": s.center} {
		if got := st[name]; got == nil || !tensor.SameShape(got.Shape, want.Shape) {
			var shape any = "none"
			if got != nil {
				shape = got.Shape
			}
			return fmt.Errorf("dino: state %s has shape %v, want %v (another --prototypes or projection width?)", name, shape, want.Shape)
		}
	}
	steps, err := tensorU64("steps", st["steps"])
	if err != nil {
		return fmt.Errorf("dino: %w", err)
	}
	// The teacher's own LoadStateDict checks its keys and shapes, so it goes first.
	if err := loadModelState("teacher", s.teacher, st); err != nil {
		return fmt.Errorf("dino: %w", err)
	}
	copy(s.last.Value.Data, st["last_layer"].Data)
	copy(s.teacherLast.Value.Data, st["teacher_last_layer"].Data)
	copy(s.center.Data, st["center"].Data)
	s.steps, s.pending = int(steps), nil
	return nil
}
