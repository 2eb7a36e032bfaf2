package plot

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// anisotropic returns n samples of a 3-D Gaussian with standard deviations 5, 1 and 0.3 along
// the orthonormal directions u, v, w (u is the dominant one), shifted by an offset.
func anisotropic(n int, u, v, w [3]float64) []float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 0, 3*n)
	for i := 0; i < n; i++ {
		a, b, c := 5*rng.NormFloat64(), rng.NormFloat64(), 0.3*rng.NormFloat64()
		for k := 0; k < 3; k++ {
			x = append(x, float32(10+a*u[k]+b*v[k]+c*w[k]))
		}
	}
	return x
}

func TestPCARecoversTheDominantDirection(t *testing.T) {
	s := 1 / math.Sqrt(3)
	u := [3]float64{s, s, s}
	v := [3]float64{1 / math.Sqrt(2), -1 / math.Sqrt(2), 0}
	w := [3]float64{1 / math.Sqrt(6), 1 / math.Sqrt(6), -2 / math.Sqrt(6)}
	x := anisotropic(4000, u, v, w)
	r, err := PCA(x, 4000, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][3]float64{u, v} {
		c := math.Abs(dot(r.Components[i], want[:]))
		if c < 0.995 {
			t.Errorf("component %d: |cos| with the true direction %.4f, want ≥ 0.995 (%v)", i, c, r.Components[i])
		}
	}
	if got := r.Variance[0]; math.Abs(got-25) > 2 {
		t.Errorf("variance along PC1 %.2f, want about 25", got)
	}
	if got := r.Variance[1]; math.Abs(got-1) > 0.15 {
		t.Errorf("variance along PC2 %.3f, want about 1", got)
	}
	if e := r.ExplainedRatio(0); e < 0.9 || e > 0.97 {
		t.Errorf("PC1 explains %.3f of the variance, want 25/26.09 ≈ 0.958", e)
	}
	// The projection is the centred data on the components: its mean is 0, its variance λ.
	var m, v2 float64
	for i := 0; i < 4000; i++ {
		m += r.Proj[2*i]
		v2 += r.Proj[2*i] * r.Proj[2*i]
	}
	if math.Abs(m/4000) > 1e-9 || math.Abs(v2/3999-r.Variance[0]) > 1e-6*r.Variance[0] {
		t.Errorf("projection mean %g, variance %g (λ1 = %g)", m/4000, v2/3999, r.Variance[0])
	}
}

func TestPCAOnWideData(t *testing.T) {
	// 300 samples of dimension 200: one strong direction plus isotropic noise.
	n, d := 300, 200
	rng := rand.New(rand.NewPCG(3, 4))
	dir := make([]float64, d)
	for j := range dir {
		dir[j] = rng.NormFloat64()
	}
	normalise(dir)
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		a := 8 * rng.NormFloat64()
		for j := 0; j < d; j++ {
			x[i*d+j] = float32(a*dir[j] + 0.5*rng.NormFloat64())
		}
	}
	r, err := PCA(x, n, d, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c := math.Abs(dot(r.Components[0], dir)); c < 0.99 {
		t.Errorf("|cos| with the planted direction %.4f", c)
	}
	if c := math.Abs(dot(r.Components[0], r.Components[1])); c > 1e-9 {
		t.Errorf("components not orthogonal: %g", c)
	}
	if _, err := PCA(x, n, d, 0); err == nil {
		t.Error("k = 0 must fail")
	}
	if _, err := PCA(x[:10], n, d, 2); err == nil {
		t.Error("a short matrix must fail")
	}
}

// clusters returns n points per cluster of two tight 20-D Gaussian clusters far apart.
func clusters(n int) ([]float32, []int) {
	rng := rand.New(rand.NewPCG(5, 6))
	const d = 20
	x := make([]float32, 0, 2*n*d)
	var labels []int
	for c := 0; c < 2; c++ {
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				centre := 0.0
				if c == 1 && j < 5 {
					centre = 6
				}
				x = append(x, float32(centre+rng.NormFloat64()))
			}
			labels = append(labels, c)
		}
	}
	return x, labels
}

func TestTSNESeparatesTwoClusters(t *testing.T) {
	x, labels := clusters(150)
	n := len(labels)
	y, err := TSNE(x, n, 20, TSNEOptions{Seed: 1, Iterations: 300})
	if err != nil {
		t.Fatal(err)
	}
	agree := 0
	for i := 0; i < n; i++ {
		best, bd := -1, math.Inf(1)
		for j := 0; j < n; j++ {
			if j == i {
				continue
			}
			d0, d1 := y[2*i]-y[2*j], y[2*i+1]-y[2*j+1]
			if d := d0*d0 + d1*d1; d < bd {
				best, bd = j, d
			}
		}
		if labels[best] == labels[i] {
			agree++
		}
	}
	if acc := float64(agree) / float64(n); acc < 0.95 {
		t.Errorf("nearest-neighbour label agreement in the t-SNE map %.3f, want ≥ 0.95", acc)
	}
	y2, _ := TSNE(x, n, 20, TSNEOptions{Seed: 1, Iterations: 300})
	for i := range y {
		if y[i] != y2[i] {
			t.Fatal("t-SNE is not deterministic for a seed")
		}
	}
	if _, err := TSNE(x[:3], 3, 1, TSNEOptions{}); err == nil {
		t.Error("3 points must fail")
	}
}

// checkPNG decodes b and checks its size; with PLOT_TEST_DIR set, it also saves the image there
// for a look.
func checkPNG(t *testing.T, b []byte, name string, minW, minH int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", name, err)
	}
	if sz := img.Bounds().Size(); sz.X < minW || sz.Y < minH || sz.X > 4000 || sz.Y > 4000 {
		t.Errorf("%s is %dx%d", name, sz.X, sz.Y)
	}
	if dir := os.Getenv("PLOT_TEST_DIR"); dir != "" {
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
}

func TestCurvesAndPNGs(t *testing.T) {
	var lines []map[string]float64
	step := 0
	for e := 1; e <= 5; e++ {
		sum := 0.0
		for s := 0; s < 40; s++ {
			step++
			l := 5/(1+0.02*float64(step)) + 0.2*math.Sin(float64(step))
			sum += l
			lines = append(lines, map[string]float64{"step": float64(step), "epoch": float64(e), "loss": l, "lr": 0.001 * math.Min(1, float64(step)/40), "images_per_s": 900})
		}
		lines = append(lines, map[string]float64{"epoch_end": float64(e), "step": float64(step), "epoch_loss": sum / 40, "knn_top1": 0.5 + 0.05*float64(e)})
	}
	c := CurvesFromMetrics(lines)
	if len(c.Loss) != 200 || len(c.EpochLoss) != 5 || len(c.KNNTop1) != 5 || len(c.LR) != 200 {
		t.Fatalf("curves: %d losses, %d epoch losses, %d kNN, %d lr", len(c.Loss), len(c.EpochLoss), len(c.KNNTop1), len(c.LR))
	}
	if c.EpochStep[4] != 200 || c.KNNEpoch[4] != 5 {
		t.Errorf("epoch 5 ended at step %v (kNN epoch %v)", c.EpochStep[4], c.KNNEpoch[4])
	}
	for name, f := range map[string]func(Curves, string) ([]byte, error){"loss.png": LossPNG, "lr.png": LRPNG, "knn.png": KNNPNG} {
		b, err := f(c, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkPNG(t, b, name, 500, 300)
		if _, err := f(Curves{}, name); err != ErrNoData {
			t.Errorf("%s of an empty log: %v, want ErrNoData", name, err)
		}
	}

	x, labels := clusters(100)
	r, err := PCA(x, 200, 20, 2)
	if err != nil {
		t.Fatal(err)
	}
	labels[0] = -1
	b, err := ScatterPNG(r.Proj, labels, []string{"T-shirt/top", "Trouser"}, ScatterOptions{Title: "PCA of h", XLabel: "PC1", YLabel: "PC2"})
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, b, "embedding.png", 600, 500)
	if _, err := ScatterPNG(r.Proj, labels[:5], nil, ScatterOptions{}); err == nil {
		t.Error("mismatched labels must fail")
	}
	if _, err := ScatterPNG(r.Proj, nil, nil, ScatterOptions{}); err != nil {
		t.Errorf("unlabelled points: %v", err)
	}
}

func TestPalette(t *testing.T) {
	seen := map[[3]uint32]bool{}
	for i := 0; i < 40; i++ {
		r, g, b, _ := Palette(i).RGBA()
		k := [3]uint32{r >> 8, g >> 8, b >> 8}
		if seen[k] {
			t.Errorf("colour %d repeats %v", i, k)
		}
		seen[k] = true
	}
}
