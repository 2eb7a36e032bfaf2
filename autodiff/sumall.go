package autodiff

// SumAll returns the sum of every element of a, as a [1] tensor. Gradient: ones.
func SumAll(a *Var) *Var {
	out := Node("SumAll", false, []int{1}, a)
	var s float64
	for _, v := range a.Data() {
		s += float64(v)
	}
	out.Data()[0] = float32(s)
	if out.requiresGrad {
		out.backward = func() {
			g, ga := out.Grad.Data[0], a.GradBuf()
			for i := range ga {
				ga[i] += g
			}
		}
	}
	return out
}

// MeanAll returns the mean of every element of a, as a [1] tensor.
func MeanAll(a *Var) *Var {
	n := a.Value.Numel()
	if n == 0 {
		panic("autodiff.MeanAll: empty input")
	}
	return Scale(SumAll(a), 1/float32(n))
}
