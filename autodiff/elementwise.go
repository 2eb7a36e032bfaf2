package autodiff

import "math"

// Exp returns eˣ elementwise (computed in float64, then rounded). Gradient: dx = dy·eˣ.
func Exp(x *Var) *Var {
	return Unary("Exp", x,
		func(v float32) float32 { return float32(math.Exp(float64(v))) },
		func(_, y float32) float32 { return y })
}

// Log returns the natural logarithm ln x elementwise (−Inf at 0, NaN below, as in PyTorch).
// Gradient: dx = dy / x.
func Log(x *Var) *Var {
	return Unary("Log", x,
		func(v float32) float32 { return float32(math.Log(float64(v))) },
		func(v, _ float32) float32 { return 1 / v })
}

// Sqrt returns √x elementwise. Gradient: dx = dy / (2√x) (+Inf at x = 0, as in PyTorch).
func Sqrt(x *Var) *Var {
	return Unary("Sqrt", x,
		func(v float32) float32 { return float32(math.Sqrt(float64(v))) },
		func(_, y float32) float32 { return 0.5 / y })
}

// Square returns x² elementwise. Gradient: dx = 2x·dy.
func Square(x *Var) *Var {
	return Unary("Square", x,
		func(v float32) float32 { return v * v },
		func(v, _ float32) float32 { return 2 * v })
}

// GELU returns the Gaussian error linear unit in its exact erf form (PyTorch's default,
// approximate='none'):
//
//	GELU(x) = x·Φ(x) = ½·x·(1 + erf(x/√2))
//
// Gradient: dx = dy·(Φ(x) + x·φ(x)), with φ(x) = exp(−x²/2)/√(2π) the standard normal density.
func GELU(x *Var) *Var {
	return Unary("GELU", x,
		func(v float32) float32 {
			f := float64(v)
			return float32(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
		},
		func(v, _ float32) float32 {
			f := float64(v)
			cdf := 0.5 * (1 + math.Erf(f/math.Sqrt2))
			pdf := math.Exp(-0.5*f*f) / math.Sqrt(2*math.Pi)
			return float32(cdf + f*pdf)
		})
}
