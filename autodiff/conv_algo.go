package autodiff

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/contrastive-go/contrastive/internal/gemm"
	"github.com/contrastive-go/contrastive/internal/winograd"
)

// ConvEnvVar names the environment variable that forces the convolutions' algorithm:
// "im2col" (implicit im2col + GEMM for every shape) or "winograd" (Winograd F(2×2,3×3) for every
// 3×3 stride-1 padding-1 convolution, whatever its channels); unset or "auto" picks per shape
// (see useWinograd).
const ConvEnvVar = "CONTRASTIVE_CONV"

// ConvAlgorithm is the convolution algorithm choice: ConvAuto, ConvIm2col or ConvWinograd.
type ConvAlgorithm int

// The choices of ConvAlgorithm.
const (
	ConvAuto ConvAlgorithm = iota
	ConvIm2col
	ConvWinograd
)

func (a ConvAlgorithm) String() string {
	return [...]string{"auto", "im2col", "winograd"}[a]
}

var convEnv = sync.OnceValues(func() (ConvAlgorithm, error) {
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv(ConvEnvVar))); v {
	case "", "auto":
		return ConvAuto, nil
	case "im2col":
		return ConvIm2col, nil
	case "winograd":
		return ConvWinograd, nil
	default:
		return ConvAuto, fmt.Errorf("%s=%q names no convolution algorithm (want auto, im2col or winograd, or leave it unset)", ConvEnvVar, v)
	}
})

// ConvEnvError reports a value of CONTRASTIVE_CONV that names no algorithm (the convolutions
// then pick per shape, as when it is unset), or a CONTRASTIVE_PRECISION that cannot be honoured
// (unknown, or bf16 on a CPU without it: the products then stay float32); commands refuse to
// run with either.
func ConvEnvError() error {
	if _, err := convEnv(); err != nil {
		return err
	}
	return gemm.CheckPrecisionEnv()
}

// convAlgorithm overrides the environment when not ConvAuto (for tests and benchmarks).
var convAlgorithm = ConvAuto

// SetConvAlgorithm forces the convolutions' algorithm for this process (ConvAuto: the
// environment's choice, else per shape) and returns the previous setting.
func SetConvAlgorithm(a ConvAlgorithm) ConvAlgorithm {
	old := convAlgorithm
	convAlgorithm = a
	return old
}

// winogradMinTileUse is the least share of the 2×2 output tiles' values that must lie inside
// the image for the automatic choice to take Winograd. Measured on ResNet-18's layers (forward +
// backward CPU time against im2col): 3×3 images, 16 outputs computed for 9 (0.56), 1.16× faster
// at 512 channels; 7×7, 64 for 49 (0.77), 1.35×; even sides 1.3–1.9×. A 1×1 image (0.25) would
// compute 4 outputs for 1.
const winogradMinTileUse = 0.5

// useWinograd reports whether a convolution of cin to cout channels of h×w images with a kh×kw
// kernel, this stride and padding runs Winograd F(2×2,3×3) (package winograd) rather than
// im2col. The automatic choice takes it where it was measured faster: on the AVX-512 path
// (channel counts multiples of 16, an AVX-512 CPU; elsewhere the transforms are plain Go and
// lose) for images whose partial tiles waste little.
func useWinograd(cin, cout, h, w, kh, kw, stride, pad int) bool {
	if !winograd.Applicable(kh, kw, stride, pad) {
		return false
	}
	a := convAlgorithm
	if a == ConvAuto {
		a, _ = convEnv()
	}
	switch a {
	case ConvIm2col:
		return false
	case ConvWinograd:
		return true
	}
	g := winograd.NewGeom(h, w)
	return winograd.Fast(cin, cout) && float64(h*w) >= winogradMinTileUse*float64(4*g.Tiles())
}
