package loss

import (
	"testing"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/internal/testvec"
)

type noncontrastiveFile struct {
	BYOL struct {
		Cases []struct {
			Name string
			PT   testvec.Tensor `json:"p"`
			ZT   testvec.Tensor `json:"z"`
			GP   testvec.Tensor `json:"grad_p"`
			GZ   testvec.Tensor `json:"grad_z"`
			Loss float64
		}
	} `json:"byol"`
	Barlow struct {
		Cases []struct {
			Name        string
			Lambda, Eps float64
			Z1          testvec.Tensor `json:"z1"`
			Z2          testvec.Tensor `json:"z2"`
			C           testvec.Tensor `json:"c"`
			GZ1         testvec.Tensor `json:"grad_z1"`
			GZ2         testvec.Tensor `json:"grad_z2"`
			Loss        float64
			OnDiag      float64 `json:"on_diag"`
			OffDiag     float64 `json:"off_diag"`
		}
	} `json:"barlow_twins"`
	VICReg struct {
		Cases []struct {
			Name                string
			SimCoeff            float64 `json:"sim_coeff"`
			StdCoeff            float64 `json:"std_coeff"`
			CovCoeff            float64 `json:"cov_coeff"`
			Eps                 float64
			X                   testvec.Tensor `json:"x"`
			Y                   testvec.Tensor `json:"y"`
			StdX                testvec.Tensor `json:"std_x"`
			StdY                testvec.Tensor `json:"std_y"`
			GX                  testvec.Tensor `json:"grad_x"`
			GY                  testvec.Tensor `json:"grad_y"`
			Loss, Inv, Var, Cov float64
		}
	} `json:"vicreg"`
}

func loadNoncontrastive(t *testing.T) noncontrastiveFile {
	var f noncontrastiveFile
	testvec.Load(t, "testdata/noncontrastive.json", &f)
	if len(f.BYOL.Cases) == 0 || len(f.Barlow.Cases) == 0 || len(f.VICReg.Cases) == 0 {
		t.Fatal("a section has no cases")
	}
	return f
}

func TestNegativeCosineMatchesReference(t *testing.T) {
	for _, c := range loadNoncontrastive(t).BYOL.Cases {
		t.Run(c.Name, func(t *testing.T) {
			// The reference gives both gradients without stop-gradient.
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return negativeCosine(in[0], in[1], true) }, tensorOf(c.PT), tensorOf(c.ZT))
			testvec.CloseScalar(t, "loss", loss, c.Loss, lossTol)
			testvec.Close(t, "grad_p", g[0], c.GP, gradTol)
			testvec.Close(t, "grad_z", g[1], c.GZ, gradTol)
			// The exported loss stops the gradient at z and gives p the same gradient.
			loss2, g2 := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return NegativeCosine(in[0], in[1]) }, tensorOf(c.PT), tensorOf(c.ZT))
			testvec.CloseScalar(t, "NegativeCosine loss", loss2, c.Loss, lossTol)
			testvec.Close(t, "NegativeCosine grad_p", g2[0], c.GP, gradTol)
			if maxAbs(g2[1]) != 0 {
				t.Error("NegativeCosine gave z a gradient; z is stop-gradient")
			}
		})
	}
}

func TestBarlowTwinsMatchesReference(t *testing.T) {
	for _, c := range loadNoncontrastive(t).Barlow.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var terms BarlowTwinsTerms
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				l, tt := BarlowTwinsDetail(in[0], in[1], float32(c.Lambda), float32(c.Eps))
				terms = tt
				return l
			}, tensorOf(c.Z1), tensorOf(c.Z2))
			testvec.CloseScalar(t, "loss", loss, c.Loss, lossTol)
			testvec.CloseScalar(t, "on_diag", terms.OnDiag, c.OnDiag, lossTol)
			testvec.CloseScalar(t, "off_diag", terms.OffDiag, c.OffDiag, lossTol)
			testvec.Close(t, "c", terms.C.Data, c.C, gradTol)
			testvec.Close(t, "grad_z1", g[0], c.GZ1, gradTol)
			testvec.Close(t, "grad_z2", g[1], c.GZ2, gradTol)
			if c.Eps == 1e-5 {
				l2, _ := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var { return BarlowTwins(in[0], in[1], float32(c.Lambda)) }, tensorOf(c.Z1), tensorOf(c.Z2))
				testvec.CloseScalar(t, "BarlowTwins (default eps) loss", l2, c.Loss, lossTol)
			}
		})
	}
}

func TestVICRegMatchesReference(t *testing.T) {
	for _, c := range loadNoncontrastive(t).VICReg.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var terms VICRegTerms
			loss, g := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
				l, tt := VICRegDetail(in[0], in[1], float32(c.SimCoeff), float32(c.StdCoeff), float32(c.CovCoeff), float32(c.Eps))
				terms = tt
				return l
			}, tensorOf(c.X), tensorOf(c.Y))
			testvec.CloseScalar(t, "loss", loss, c.Loss, lossTol)
			testvec.CloseScalar(t, "inv", terms.Inv, c.Inv, lossTol)
			testvec.CloseScalar(t, "var", terms.Var, c.Var, lossTol)
			testvec.CloseScalar(t, "cov", terms.Cov, c.Cov, lossTol)
			closeF64(t, "std_x", terms.StdX, c.StdX)
			closeF64(t, "std_y", terms.StdY, c.StdY)
			testvec.Close(t, "grad_x", g[0], c.GX, gradTol)
			testvec.Close(t, "grad_y", g[1], c.GY, gradTol)
			if c.Eps == 1e-4 {
				l2, _ := evalGrad(t, func(in []*autodiff.Var) *autodiff.Var {
					return VICReg(in[0], in[1], float32(c.SimCoeff), float32(c.StdCoeff), float32(c.CovCoeff))
				}, tensorOf(c.X), tensorOf(c.Y))
				testvec.CloseScalar(t, "VICReg (default eps) loss", l2, c.Loss, lossTol)
			}
		})
	}
}

func closeF64(t *testing.T, name string, got []float64, want testvec.Tensor) {
	t.Helper()
	g := make([]float32, len(got))
	for i, v := range got {
		g[i] = float32(v)
	}
	testvec.Close(t, name, g, want, gradTol)
}
