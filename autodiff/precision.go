package autodiff

import (
	"fmt"

	"github.com/contrastive-go/contrastive/internal/gemm"
)

// PrecisionEnvVar switches the convolutions' products to bfloat16 for a whole process
// (CONTRASTIVE_PRECISION=bf16), as SetConvPrecision("bf16") does.
const PrecisionEnvVar = gemm.PrecisionEnv

// Precisions are the names SetConvPrecision takes.
var Precisions = []string{"fp32", "bf16"}

// SetConvPrecision sets the precision of every convolution's products (forward, input and weight
// gradients; Winograd and im2col alike) for this process: "fp32" (or "") float32 throughout,
// "bf16" operands rounded to bfloat16 and multiplied in pairs by AVX512_BF16's VDPBF16PS, with
// float32 sums, float32 master weights and everything else — BatchNorm, activations, linear
// layers, losses, the optimiser, evaluation, search — in float32 (see internal/gemm/bf16.go:
// each operand's rounding error is up to 2⁻⁹). bf16 on a CPU without AVX512_BF16 is an error.
func SetConvPrecision(name string) error {
	if err := CheckPrecision(name); err != nil {
		return err
	}
	return gemm.SetBF16(name == "bf16")
}

// ConvPrecision is the convolutions' precision now: "fp32" or "bf16".
func ConvPrecision() string {
	if gemm.BF16() {
		return "bf16"
	}
	return "fp32"
}

// EnvPrecision is the precision CONTRASTIVE_PRECISION asks for: "bf16" when it says bf16 and
// the CPU has it (ConvEnvError reports the other cases), else "fp32". Commands use it when no
// --precision is given.
func EnvPrecision() string {
	if gemm.EnvBF16() {
		return "bf16"
	}
	return "fp32"
}

// CheckPrecision reports whether SetConvPrecision(name) would succeed here, without changing
// anything.
func CheckPrecision(name string) error {
	switch name {
	case "", "fp32":
		return nil
	case "bf16":
		if !gemm.HasBF16() {
			return gemm.ErrNoBF16
		}
		return nil
	}
	return fmt.Errorf("unknown precision %q (known: fp32, bf16)", name)
}

// BF16Speedup is how much faster the bfloat16 products run than the float32 ones on this CPU,
// measured once in cache (gemm.BF16Speedup): about 1.9 on AMD Zen 4, about 0.6 on an Intel Xeon
// of the Sapphire Rapids class (slower); 0 without AVX512_BF16.
func BF16Speedup() float64 { return gemm.BF16Speedup() }

// BF16Note is the line a command prints beside the bf16 precision: the measured speed-up, and
// a warning when it is below 1.
func BF16Note(speedup float64) string {
	if speedup < 1 {
		return fmt.Sprintf("warning: on this CPU the bf16 products measure %.2fx the float32 ones' speed (VDPBF16PS is slow here): expect slower steps than --precision fp32", speedup)
	}
	return fmt.Sprintf("the bf16 products measure %.2fx the float32 ones' speed on this CPU", speedup)
}
