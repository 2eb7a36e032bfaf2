package method_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/contrastive-go/contrastive/autodiff"
	"github.com/contrastive-go/contrastive/method"
	"github.com/contrastive-go/contrastive/models"
	"github.com/contrastive-go/contrastive/optim"
	"github.com/contrastive-go/contrastive/tensor"
)

// A hand-written training loop: a method turns a batch of two views into a loss, an optimizer
// steps its parameters, and AfterStep runs the method's own updates (here MoCo v2's momentum
// encoder and queue).
func Example() {
	model, _ := models.Build(models.Config{Name: models.SmallCNNName, Channels: []int{4, 8}, Strides: []int{2, 2}}, 1)
	moco, err := method.NewMoCoV2(model, method.Config{Temperature: 0.2, QueueSize: 64, EMAMomentum: 0.99})
	if err != nil {
		fmt.Println(err)
		return
	}
	opt := optim.NewSGD(moco.Params(), optim.SGDConfig{LR: 0.03, Momentum: 0.9, WeightDecay: 1e-4})
	rng := rand.New(rand.NewPCG(1, 2))
	tp := autodiff.NewTape()
	const n = 16 // images per batch; two views each
	for step := 0; step < 3; step++ {
		views := make([]float32, 2*n*28*28)
		for i := range views {
			views[i] = rng.Float32()
		}
		x := tp.Constant(tensor.FromSlice(views, 2*n, 1, 28, 28))
		l := moco.Loss(method.Batch{X: x, V: 2, N: n})
		tp.Backward(l)
		opt.Step()
		opt.ZeroGrad()
		tp.Reset()
		moco.AfterStep(float64(step+1) / 3)
	}
	st := moco.State() // what a checkpoint keeps beside the model: key encoder and queue
	fmt.Println("trained", len(moco.Params()), "parameter tensors; queue", st["queue"].Shape)
	// Output: trained 10 parameter tensors; queue [64 128]
}
