// Package bench measures the reference workloads that are compared with the PyTorch peers:
// one SimCLR training step of the reference model (../shared/bench/torch_ref.py step), one SimCLR
// step of ResNet-18 with the ImageNet stem on 3×96×96 photos (bench/torch_simclr_resnet18.py)
// and float32 GEMM. Both `go test -bench` and `contrastive bench` use it.
package bench

import (
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/blas"
	"github.com/contrastive-go/contrastive/data"
	"github.com/contrastive-go/contrastive/loss"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

// StepResult is one measurement of the reference SimCLR step.
type StepResult struct {
	Batch          int     `json:"batch"`
	SecondsPerStep float64 `json:"seconds_per_step"`
	ImagesPerSec   float64 `json:"images_per_s"`
	Params         int     `json:"params"`
	Data           string  `json:"data"`
}

// Step is a ready-to-run SimCLR training step: forward of 2×batch views, NT-Xent with τ = 0.5,
// backward, Adam with lr 1e-3, on four fixed pre-augmented batches used in turn, as the PyTorch
// peers do. NewStep builds it for the reference model (DESIGN.md), NewResNet18Step for ResNet-18.
type Step struct {
	model   *models.Model
	opt     optim.Optimizer
	tape    *autodiff.Tape
	batches []*tensor.Tensor
	next    int
	Batch   int
	Data    string // where the images came from
}

// NewStep prepares the step: images from Fashion-MNIST when installed (else the embedded test
// split, else random), each batch holding two cheaply augmented views (shift by up to 4 pixels,
// horizontal flip, brightness), like torch_ref.py's views().
func NewStep(batch int) (*Step, error) {
	m, err := models.Build(models.Reference(), 0)
	if err != nil {
		return nil, err
	}
	s := &Step{model: m, opt: optim.NewAdam(m.Params(), optim.AdamConfig{LR: 1e-3}), tape: freeingTape(), Batch: batch}
	imgs, src := images(4 * batch)
	s.Data = src
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 4; i++ {
		chunk := imgs[i*batch*784 : (i+1)*batch*784]
		t := tensor.New(2*batch, 1, 28, 28)
		views(rng, chunk, t.Data[:batch*784])
		views(rng, chunk, t.Data[batch*784:])
		s.batches = append(s.batches, t)
	}
	// The dataset was only needed for these 4·batch images: return its memory to the OS so the
	// step's peak RSS is the step's own.
	imgs = nil
	debug.FreeOSMemory()
	return s, nil
}

// ResNet18Size is the side of the photos of NewResNet18Step (STL-10's 96×96).
const ResNet18Size = 96

// NewResNet18Step prepares the photo-sized SimCLR step: ResNet-18 with the ImageNet stem (7×7
// stride-2 conv and max pool; torchvision's resnet18 without fc) and the default projection head
// 512→512→128, on batch images × 2 views of 3×96×96. The images are fixed pseudo-random smooth
// colour fields (no photo dataset ships with Debian); each view is a shifted, possibly flipped,
// brightness-scaled copy, like views(). bench/torch_simclr_resnet18.py is the PyTorch peer.
func NewResNet18Step(batch int) (*Step, error) {
	m, err := models.Build(models.Config{Name: models.ResNet18Name, InChannels: 3}, 0)
	if err != nil {
		return nil, err
	}
	s := &Step{model: m, opt: optim.NewAdam(m.Params(), optim.AdamConfig{LR: 1e-3}), tape: freeingTape(), Batch: batch, Data: "synthetic 3x96x96"}
	const sz = ResNet18Size
	rng := rand.New(rand.NewPCG(9, 9))
	img := make([]float32, 3*(sz+16)*(sz+16))
	for i := 0; i < 4; i++ {
		t := tensor.New(2*batch, 3, sz, sz)
		for b := 0; b < batch; b++ {
			smoothImage(rng, img, sz+16)
			for v := 0; v < 2; v++ {
				photoView(rng, img, sz+16, t.Data[((v*batch)+b)*3*sz*sz:((v*batch)+b+1)*3*sz*sz], sz)
			}
		}
		s.batches = append(s.batches, t)
	}
	return s, nil
}

// smoothImage fills img (3 planes of side×side) with a sum of a few random low-frequency waves
// per channel plus a little noise, standardised to about zero mean and unit variance.
func smoothImage(rng *rand.Rand, img []float32, side int) {
	for c := 0; c < 3; c++ {
		var fx, fy, ph [3]float64
		for k := range fx {
			fx[k], fy[k], ph[k] = rng.Float64()*0.2, rng.Float64()*0.2, rng.Float64()*6.28
		}
		plane := img[c*side*side : (c+1)*side*side]
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				var v float64
				for k := range fx {
					v += math.Sin(fx[k]*float64(x) + fy[k]*float64(y) + ph[k])
				}
				plane[y*side+x] = float32(v*0.55 + 0.3*(rng.Float64()-0.5))
			}
		}
	}
}

// photoView writes a side×side crop of img (3 planes of big×big) at a random offset, flipped
// horizontally with probability 1/2 and scaled by a random brightness factor, into dst.
func photoView(rng *rand.Rand, img []float32, big int, dst []float32, side int) {
	ox, oy := rng.IntN(big-side+1), rng.IntN(big-side+1)
	flip := rng.IntN(2) == 1
	scale := float32(0.6 + 0.8*rng.Float64())
	for c := 0; c < 3; c++ {
		for y := 0; y < side; y++ {
			src := img[(c*big+oy+y)*big+ox:]
			row := dst[(c*side+y)*side : (c*side+y+1)*side]
			for x := range row {
				sx := x
				if flip {
					sx = side - 1 - x
				}
				row[x] = src[sx] * scale
			}
		}
	}
}

// freeingTape is the steps' tape: it frees each activation once the gradient has passed it
// (autodiff.Tape.FreeValues; Run reads only the loss, before Backward), which keeps the peak
// memory of a step at about its activations.
func freeingTape() *autodiff.Tape {
	tp := autodiff.NewTape()
	tp.FreeValues = true
	return tp
}

// Run performs one training step and returns its loss.
func (s *Step) Run() float32 {
	x := s.tape.Constant(s.batches[s.next%len(s.batches)])
	s.next++
	l := loss.NTXent(s.model.Forward(x), 0.5)
	v := l.Item()
	s.tape.Backward(l)
	s.opt.Step()
	s.opt.ZeroGrad()
	s.tape.Reset()
	return v
}

// Params is the model's parameter count.
func (s *Step) Params() int { return s.model.NumParams() }

// Measure runs warmup steps, then steps timed ones, and returns the median.
func (s *Step) Measure(steps, warmup int) StepResult {
	for i := 0; i < warmup; i++ {
		s.Run()
	}
	times := make([]float64, steps)
	for i := range times {
		t := time.Now()
		s.Run()
		times[i] = time.Since(t).Seconds()
	}
	sort.Float64s(times)
	med := times[len(times)/2]
	if len(times)%2 == 0 {
		med = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	return StepResult{Batch: s.Batch, SecondsPerStep: med, ImagesPerSec: float64(s.Batch) / med, Params: s.Params(), Data: s.Data}
}

func images(n int) ([]float32, string) {
	out := make([]float32, n*784)
	for _, try := range []struct {
		name string
		open func() (data.Dataset, error)
	}{
		{"fashion-mnist train", func() (data.Dataset, error) { return data.OpenFashionMNIST("train", "") }},
		{"fashion-mnist t10k (embedded)", data.EmbeddedFashionMNIST},
	} {
		ds, err := try.open()
		if err != nil || ds.Len() < n {
			continue
		}
		ok := true
		for i := 0; i < n; i++ {
			s, err := ds.Get(i)
			if err != nil || len(s.Image.Pix) != 784 {
				ok = false
				break
			}
			copy(out[i*784:], s.Image.Pix)
		}
		if ok {
			return out, try.name
		}
	}
	rng := rand.New(rand.NewPCG(0, 0))
	for i := range out {
		out[i] = rng.Float32()
	}
	return out, "random"
}

// views writes one cheaply augmented view of each 28×28 image of src into dst.
func views(rng *rand.Rand, src, dst []float32) {
	for i := 0; i < len(src)/784; i++ {
		dx, dy := rng.IntN(9)-4, rng.IntN(9)-4
		flip := rng.IntN(2) == 1
		scale := float32(0.6 + 0.8*rng.Float64())
		img, out := src[i*784:(i+1)*784], dst[i*784:(i+1)*784]
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				sx := x
				if flip {
					sx = 27 - x
				}
				sy, sxx := y+dy, sx+dx
				var v float32
				if sy >= 0 && sy < 28 && sxx >= 0 && sxx < 28 {
					v = img[sy*28+sxx]
				}
				out[y*28+x] = v * scale
			}
		}
	}
}

// GEMMResult is one GEMM measurement.
type GEMMResult struct {
	Backend string  `json:"backend"`
	M       int     `json:"m"`
	K       int     `json:"k"`
	N       int     `json:"n"`
	GFLOPS  float64 `json:"gflops"`
}

// GEMM measures C = A·B with the current backend at m×k×n, median of reps runs after one warm-up.
func GEMM(m, k, n, reps int) GEMMResult {
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range a {
		a[i] = rng.Float32()
	}
	for i := range b {
		b[i] = rng.Float32()
	}
	blas.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	times := make([]float64, reps)
	for i := range times {
		t := time.Now()
		blas.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		times[i] = time.Since(t).Seconds()
	}
	sort.Float64s(times)
	return GEMMResult{Backend: blas.Default().Name(), M: m, K: k, N: n, GFLOPS: 2 * float64(m) * float64(n) * float64(k) / times[len(times)/2] / 1e9}
}

// Load1 is the one-minute load average (0 where unknown).
func Load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// Threads is GOMAXPROCS.
func Threads() int { return runtime.GOMAXPROCS(0) }
