package autodiff

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/tensor"
)

// refLayers are the three convolutions of the reference model (DESIGN.md) at 512 inputs per step.
var refLayers = []struct {
	name        string
	x, w        []int
	stride, pad int
	gradX       bool
}{
	{"conv1_1to32_s1", []int{512, 1, 28, 28}, []int{32, 1, 3, 3}, 1, 1, false},
	{"conv2_32to64_s2", []int{512, 32, 28, 28}, []int{64, 32, 3, 3}, 2, 1, true},
	{"conv3_64to128_s2", []int{512, 64, 14, 14}, []int{128, 64, 3, 3}, 2, 1, true},
}

// convDriver is one setting of the convolution driver.
type convDriver struct {
	name              string
	workers, implicit bool
	chunk             int
}

// convDrivers are the driver settings compared by BenchmarkConvReferenceLayers: the default;
// CONV_DRIVERS=ab adds "explicit" (im2col materialised, default GEMM backend) for an A/B
// comparison, and CONV_DRIVERS=all adds the chunk sizes of both drivers as well.
var convDrivers = func() []convDriver {
	ds := []convDriver{{"default", convWorkers, convImplicit, convChunkFloats}}
	if d := os.Getenv("CONV_DRIVERS"); d == "all" || d == "ab" {
		ds = append(ds, convDriver{"explicit", convWorkers, false, convChunkFloats})
	}
	if os.Getenv("CONV_DRIVERS") == "all" {
		for _, c := range []int{1 << 16, 1 << 18, 1 << 20, 1 << 22} {
			ds = append(ds, convDriver{fmt.Sprintf("phases-%dk", c>>10), false, convImplicit, c},
				convDriver{fmt.Sprintf("workers-%dk", c>>10), true, convImplicit, c})
		}
	}
	return ds
}()

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a "cpu-ms/op" metric, the CPU time the op used: on a shared, loaded machine it
// is a steadier measure of the work done than the wall time (run with GOMAXPROCS=1 to exclude
// the BLAS threads' spin-waiting).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/1e6/float64(b.N), "cpu-ms/op")
}

func benchRand(shape ...int) *tensor.Tensor { return randT(rand.New(rand.NewPCG(1, 2)), shape...) }

// runBackward seeds out.Grad with g and runs out's backward alone.
func runBackward(out *Var, g *tensor.Tensor) {
	out.Grad = g
	out.backward()
}

// BenchmarkConvReferenceLayers times forward and forward+backward of each reference convolution
// (the first one without dx, as in training). Sub-benchmark "driver" values compare the two
// drivers; the default one is marked.
func BenchmarkConvReferenceLayers(b *testing.B) {
	b.Logf("gemm: %s", blas.Describe())
	for _, l := range refLayers {
		x, w := benchRand(l.x...), benchRand(l.w...)
		for _, d := range convDrivers {
			workers, implicit, chunk := d.workers, d.implicit, d.chunk
			name := d.name
			b.Run(fmt.Sprintf("%s/%s/fwd", l.name, name), func(b *testing.B) {
				defer func(v, im bool, c int) { convWorkers, convImplicit, convChunkFloats = v, im, c }(convWorkers, convImplicit, convChunkFloats)
				convWorkers, convImplicit, convChunkFloats = workers, implicit, chunk
				tp := NewTape()
				tp.NoGrad = true
				b.ResetTimer()
				start := cpuTime()
				for i := 0; i < b.N; i++ {
					Conv2d(tp.Constant(x), tp.Constant(w), nil, l.stride, l.pad)
					tp.Reset()
				}
				reportCPU(b, start)
			})
			b.Run(fmt.Sprintf("%s/%s/fwd+bwd", l.name, name), func(b *testing.B) {
				defer func(v, im bool, c int) { convWorkers, convImplicit, convChunkFloats = v, im, c }(convWorkers, convImplicit, convChunkFloats)
				convWorkers, convImplicit, convChunkFloats = workers, implicit, chunk
				tp := NewTape()
				wp := Param(w)
				var g *tensor.Tensor
				b.ResetTimer()
				start := cpuTime()
				for i := 0; i < b.N; i++ {
					xv := tp.Constant(x)
					if l.gradX {
						xv = tp.Variable(x)
					}
					out := Conv2d(xv, wp, nil, l.stride, l.pad)
					if g == nil {
						g = benchRand(out.Shape()...)
					}
					runBackward(out, g)
					tp.Reset()
				}
				reportCPU(b, start)
			})
		}
	}
}

// BenchmarkBatchNorm2d times training-mode forward+backward at the reference model's three
// BatchNorm shapes, alone and fused with the ReLU that follows it there.
func BenchmarkBatchNorm2d(b *testing.B) {
	for _, shape := range [][]int{{512, 32, 28, 28}, {512, 64, 14, 14}, {512, 128, 7, 7}} {
		c := shape[1]
		x, g := benchRand(shape...), benchRand(shape...)
		gamma, beta := Param(benchRand(c)), Param(benchRand(c))
		rm, rv := tensor.New(c), tensor.New(c)
		rv.Fill(1)
		b.Run(fmt.Sprintf("%v/fwd", shape), func(b *testing.B) {
			tp := NewTape()
			tp.NoGrad = true
			start := cpuTime()
			for i := 0; i < b.N; i++ {
				BatchNorm(tp.Constant(x), gamma, beta, rm, rv, true, 0.1, 1e-5)
				tp.Reset()
			}
			reportCPU(b, start)
		})
		for _, op := range []struct {
			name string
			fn   func(x, gamma, beta *Var, rm, rv *tensor.Tensor, training bool, momentum, eps float32) *Var
		}{{"", BatchNorm}, {"+relu", BatchNormReLU}} {
			b.Run(fmt.Sprintf("%v/fwd+bwd%s", shape, op.name), func(b *testing.B) {
				tp := NewTape()
				start := cpuTime()
				for i := 0; i < b.N; i++ {
					out := op.fn(tp.Variable(x), gamma, beta, rm, rv, true, 0.1, 1e-5)
					runBackward(out, g)
					tp.Reset()
				}
				reportCPU(b, start)
			})
		}
	}
}

// BenchmarkReferenceEncoder times forward+backward of the reference encoder (conv-BN-ReLU ×3, then
// global average pooling) on 512 inputs: the engine's share of one SimCLR step.
func BenchmarkReferenceEncoder(b *testing.B) {
	x := benchRand(512, 1, 28, 28)
	var ws, gs, bs []*Var
	var rms, rvs []*tensor.Tensor
	for _, l := range refLayers {
		ws = append(ws, Param(benchRand(l.w...)))
		c := l.w[0]
		gs, bs = append(gs, Param(benchRand(c))), append(bs, Param(benchRand(c)))
		rms, rvs = append(rms, tensor.New(c)), append(rvs, tensor.New(c))
	}
	tp := NewTape()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		h := tp.Constant(x)
		for j, l := range refLayers {
			h = ReLU(BatchNorm(Conv2d(h, ws[j], nil, l.stride, l.pad), gs[j], bs[j], rms[j], rvs[j], true, 0.1, 1e-5))
		}
		tp.Backward(MeanAll(GlobalAvgPool(h)))
		tp.Reset()
	}
	reportCPU(b, start)
}

// resnetLayers are the 3×3 stride-1 convolutions of ResNet-18 at 128 images: the CIFAR stem on
// 28×28 inputs (stem conv 1→64, then the four stages) and the ImageNet stem on 96×96 photos
// (stages at 24, 12, 6, 3).
var resnetLayers = []struct {
	name string
	x, w []int
}{
	{"cifar_stem_1to64x28", []int{128, 1, 28, 28}, []int{64, 1, 3, 3}},
	{"cifar_64x28", []int{128, 64, 28, 28}, []int{64, 64, 3, 3}},
	{"cifar_128x14", []int{128, 128, 14, 14}, []int{128, 128, 3, 3}},
	{"cifar_256x7", []int{128, 256, 7, 7}, []int{256, 256, 3, 3}},
	{"cifar_512x4", []int{128, 512, 4, 4}, []int{512, 512, 3, 3}},
	{"imagenet_64x24", []int{128, 64, 24, 24}, []int{64, 64, 3, 3}},
	{"imagenet_128x12", []int{128, 128, 12, 12}, []int{128, 128, 3, 3}},
	{"imagenet_256x6", []int{128, 256, 6, 6}, []int{256, 256, 3, 3}},
	{"imagenet_512x3", []int{128, 512, 3, 3}, []int{512, 512, 3, 3}},
}

// BenchmarkConvResNetLayers times forward+backward (dX and dW; dW alone for the stem) of each
// layer of resnetLayers with im2col and with Winograd F(2×2,3×3) forced, alternating.
// CONV_LAYERS=substring runs only the layers whose name contains it.
func BenchmarkConvResNetLayers(b *testing.B) {
	b.Logf("gemm: %s", blas.Describe())
	for _, l := range resnetLayers {
		if f := os.Getenv("CONV_LAYERS"); f != "" && !strings.Contains(l.name, f) {
			continue
		}
		x, w := benchRand(l.x...), benchRand(l.w...)
		gradX := l.x[1] > 1
		for _, algo := range []ConvAlgorithm{ConvIm2col, ConvWinograd} {
			for _, pass := range []string{"fwd", "fwd+bwd"} {
				b.Run(fmt.Sprintf("%s/%s/%s", l.name, algo, pass), func(b *testing.B) {
					defer SetConvAlgorithm(SetConvAlgorithm(algo))
					benchConvPass(b, x, w, 1, 1, pass == "fwd", gradX)
				})
			}
		}
	}
}

// benchConvPass times Conv2d of x by w, forward alone (noGrad) or forward and backward (the
// input gradient too with gradX), and reports the CPU time per call.
func benchConvPass(b *testing.B, x, w *tensor.Tensor, stride, pad int, noGrad, gradX bool) {
	tp := NewTape()
	tp.NoGrad = noGrad
	wp := Param(w)
	var g *tensor.Tensor
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		xv := tp.Constant(x)
		if gradX && !noGrad {
			xv = tp.Variable(x)
		}
		out := Conv2d(xv, wp, nil, stride, pad)
		if !noGrad {
			if g == nil {
				g = benchRand(out.Shape()...)
			}
			runBackward(out, g)
		}
		tp.Reset()
	}
	reportCPU(b, start)
}

// BenchmarkMaxPool2dPadded times the ImageNet stem's 3×3 stride-2 max pool (padding 1) of 64
// channels of 48×48 (ResNet-18 on 96×96 photos, a batch of 128 views), forward and backward.
func BenchmarkMaxPool2dPadded(b *testing.B) {
	x := benchRand(128, 64, 48, 48)
	for i := range x.Data {
		x.Data[i] = max(x.Data[i], 0) // a ReLU's output: ties of zeros
	}
	g := benchRand(128, 64, 24, 24)
	tp := NewTape()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		out := MaxPool2dPadded(tp.Variable(x), 3, 2, 1)
		runBackward(out, g)
		tp.Reset()
	}
	reportCPU(b, start)
}
