package eval

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
)

type tensorJSON struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (t tensorJSON) features() Features {
	out := make([]float32, len(t.Data))
	for i, v := range t.Data {
		out[i] = float32(v)
	}
	return Features{N: t.Shape[0], D: t.Shape[1], Data: out}
}

type knnCase struct {
	Name        string     `json:"name"`
	KK          int        `json:"k"`
	T           float64    `json:"T"`
	Classes     int        `json:"C"`
	Train       tensorJSON `json:"train_features"`
	TrainLabels []int      `json:"train_labels"`
	Test        tensorJSON `json:"test_features"`
	TestLabels  []int      `json:"test_labels"`
	TopkIndices tensorJSON `json:"topk_indices"`
	TopkSims    tensorJSON `json:"topk_sims"`
	Scores      tensorJSON `json:"scores"`
	Predictions []int      `json:"predictions"`
	Accuracy    float64    `json:"accuracy"`
}

func loadKNNVectors(t *testing.T) []knnCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/knn.json")
	if err != nil {
		t.Fatalf("reading test vectors: %v", err)
	}
	var file struct {
		Cases []knnCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("decoding testdata/knn.json: %v", err)
	}
	if len(file.Cases) == 0 {
		t.Fatal("testdata/knn.json has no cases")
	}
	return file.Cases
}

// TestKNNMatchesReferenceVectors: neighbours (in order), similarities, class scores, predictions
// and accuracy equal PyTorch's float64 reference, for several block sizes.
func TestKNNMatchesReferenceVectors(t *testing.T) {
	for _, tc := range loadKNNVectors(t) {
		for _, block := range []int{0, 1, 5} {
			t.Run(tc.Name, func(t *testing.T) {
				res, err := KNN(tc.Train.features(), tc.TrainLabels, tc.Test.features(), tc.TestLabels,
					KNNOptions{K: tc.KK, T: tc.T, Classes: tc.Classes, BlockSize: block, KeepNeighbors: true})
				if err != nil {
					t.Fatal(err)
				}
				k := tc.TopkIndices.Shape[1]
				if res.K != k {
					t.Fatalf("K = %d, want %d", res.K, k)
				}
				for i, want := range tc.TopkIndices.Data {
					if res.Neighbors[i] != int(want) {
						t.Fatalf("block %d: query %d neighbour %d = %d, want %v", block, i/k, i%k, res.Neighbors[i], want)
					}
					if d := math.Abs(float64(res.Sims[i]) - tc.TopkSims.Data[i]); d > 1e-6 {
						t.Fatalf("query %d sim %d = %v, want %v", i/k, i%k, res.Sims[i], tc.TopkSims.Data[i])
					}
				}
				for i, want := range tc.Scores.Data {
					if d := math.Abs(res.Scores[i] - want); d > 1e-4*math.Max(1, math.Abs(want)) {
						t.Fatalf("score[%d] = %v, want %v", i, res.Scores[i], want)
					}
				}
				for q, want := range tc.Predictions {
					if res.Predictions[q] != want {
						t.Errorf("prediction[%d] = %d, want %d", q, res.Predictions[q], want)
					}
				}
				if math.Abs(res.Top1-tc.Accuracy) > 1e-12 {
					t.Errorf("Top1 = %v, want %v", res.Top1, tc.Accuracy)
				}
			})
		}
	}
}

// naiveKNN is the specification, written the slow way: normalise, sort all similarities
// (ties to the lower row), sum exp(sim/T) per class.
func naiveKNN(bank Features, labels []int, queries Features, k int, t float64, c int, exclude []int) (pred []int, nbrs [][]int) {
	norm := func(v []float32) []float64 {
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		n := math.Max(math.Sqrt(ss), 1e-12)
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x) / n
		}
		return out
	}
	for q := 0; q < queries.N; q++ {
		qv := norm(queries.Row(q))
		type cand struct {
			s float64
			j int
		}
		var cs []cand
		for j := 0; j < bank.N; j++ {
			if exclude != nil && exclude[q] == j {
				continue
			}
			bv := norm(bank.Row(j))
			var s float64
			for i := range qv {
				s += qv[i] * bv[i]
			}
			cs = append(cs, cand{s, j})
		}
		sort.SliceStable(cs, func(a, b int) bool { return cs[a].s > cs[b].s })
		cs = cs[:min(k, len(cs))]
		scores := make([]float64, c)
		var ids []int
		for _, x := range cs {
			scores[labels[x.j]] += math.Exp(x.s / t)
			ids = append(ids, x.j)
		}
		best := 0
		for i, v := range scores {
			if v > scores[best] {
				best = i
			}
		}
		pred = append(pred, best)
		nbrs = append(nbrs, ids)
	}
	return pred, nbrs
}

// randomFeatures returns n rows of d standard normal values.
func randomFeatures(r *rand.Rand, n, d int) Features {
	f := Features{N: n, D: d, Data: make([]float32, n*d)}
	for i := range f.Data {
		f.Data[i] = float32(r.NormFloat64())
	}
	return f
}

// TestKNNAgreesWithNaiveLoop: on random data the blocked, heap-selected kNN gives the naive
// loop's predictions, with and without exclusion, for k below, at and above the bank size.
func TestKNNAgreesWithNaiveLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name          string
		m, q, d, k, c int
		excludeSelf   bool
	}{
		{"k smaller than bank", 300, 50, 16, 20, 5, false},
		{"k equals bank", 40, 10, 8, 40, 3, false},
		{"k larger than bank", 15, 7, 4, 200, 3, false},
		{"leave one out", 120, 120, 6, 15, 4, true},
		{"leave one out on a prefix", 80, 30, 6, 10, 4, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bank := randomFeatures(r, tc.m, tc.d)
			labels := make([]int, tc.m)
			for i := range labels {
				labels[i] = r.IntN(tc.c)
			}
			queries := randomFeatures(r, tc.q, tc.d)
			var exclude []int
			if tc.excludeSelf {
				queries = bank.Subset(seq(tc.q))
				exclude = seq(tc.q)
			}
			res, err := KNN(bank, labels, queries, nil, KNNOptions{K: tc.k, T: 0.1, Classes: tc.c,
				ExcludeSelf: tc.excludeSelf, BlockSize: 7, KeepNeighbors: true})
			if err != nil {
				t.Fatal(err)
			}
			pred, nbrs := naiveKNN(bank, labels, queries, tc.k, 0.1, tc.c, exclude)
			for q := range pred {
				if res.Predictions[q] != pred[q] {
					t.Errorf("query %d: prediction %d, naive %d", q, res.Predictions[q], pred[q])
				}
				got := res.Neighbors[q*res.K : (q+1)*res.K]
				for i, j := range nbrs[q] {
					if got[i] != j {
						t.Fatalf("query %d: neighbours %v, naive %v", q, got, nbrs[q])
					}
				}
				for i := len(nbrs[q]); i < res.K; i++ {
					if got[i] != -1 {
						t.Fatalf("query %d: neighbour %d = %d, want -1 padding", q, i, got[i])
					}
				}
				if tc.excludeSelf {
					for _, j := range got {
						if j == q {
							t.Fatalf("query %d is its own neighbour", q)
						}
					}
				}
			}
			if !math.IsNaN(res.Top1) || !math.IsNaN(res.Top5) {
				t.Errorf("without query labels Top1, Top5 = %v, %v, want NaN", res.Top1, res.Top5)
			}
		})
	}
}

// TestKNNTiesGoToLowerRowAndClass: equal similarities keep the lower bank row; equal class
// scores go to the lower class.
func TestKNNTiesGoToLowerRowAndClass(t *testing.T) {
	// Four identical bank rows, labels 1, 0, 1, 0; with k = 2 rows 0 and 1 are kept, and their
	// equal weights tie classes 0 and 1, which class 0 wins.
	bank := Features{N: 4, D: 2, Data: []float32{1, 0, 1, 0, 1, 0, 1, 0}}
	q := Features{N: 1, D: 2, Data: []float32{3, 0}}
	res, err := KNN(bank, []int{1, 0, 1, 0}, q, []int{1}, KNNOptions{K: 2, KeepNeighbors: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Neighbors[0] != 0 || res.Neighbors[1] != 1 {
		t.Errorf("neighbours %v, want [0 1]", res.Neighbors)
	}
	if res.Predictions[0] != 0 {
		t.Errorf("prediction %d, want 0 (lower class wins a tie)", res.Predictions[0])
	}
	if res.Top1 != 0 || res.Top5 != 1 {
		t.Errorf("Top1, Top5 = %v, %v, want 0, 1", res.Top1, res.Top5)
	}
}

// TestKNNTop5: the true class counts for top-5 exactly when at most 4 classes outscore it.
func TestKNNTop5(t *testing.T) {
	// Bank: one row per class 0..6 at decreasing similarity to the query (1, 0.9, ...).
	const c = 7
	bank := Features{N: c, D: 2}
	for i := 0; i < c; i++ {
		a := float64(i) * 0.3
		bank.Data = append(bank.Data, float32(math.Cos(a)), float32(math.Sin(a)))
	}
	labels := seq(c)
	q := Features{N: 1, D: 2, Data: []float32{1, 0}}
	for y, want := range []struct{ top1, top5 float64 }{{1, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 0}, {0, 0}} {
		res, err := KNN(bank, labels, q, []int{y}, KNNOptions{K: c})
		if err != nil {
			t.Fatal(err)
		}
		if res.Top1 != want.top1 || res.Top5 != want.top5 {
			t.Errorf("true class %d: Top1, Top5 = %v, %v, want %v, %v", y, res.Top1, res.Top5, want.top1, want.top5)
		}
	}
}

// TestKNNExcludeArbitraryRows: Exclude removes exactly the named bank row from each query's
// neighbours, here the query's own copy in the bank.
func TestKNNExcludeArbitraryRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	bank := randomFeatures(r, 50, 5)
	rows := []int{7, 0, 49, 23}
	q := bank.Subset(rows)
	labels := make([]int, 50)
	res, err := KNN(bank, labels, q, nil, KNNOptions{K: 3, Exclude: rows, KeepNeighbors: true})
	if err != nil {
		t.Fatal(err)
	}
	res0, _ := KNN(bank, labels, q, nil, KNNOptions{K: 3, KeepNeighbors: true})
	for i, row := range rows {
		if res0.Neighbors[i*3] != row {
			t.Fatalf("without exclusion query %d's first neighbour is %d, want itself (%d)", i, res0.Neighbors[i*3], row)
		}
		for _, j := range res.Neighbors[i*3 : i*3+3] {
			if j == row {
				t.Errorf("query %d has excluded row %d as a neighbour", i, row)
			}
		}
		if got, want := res.Neighbors[i*3], res0.Neighbors[i*3+1]; got != want {
			t.Errorf("query %d: first neighbour after exclusion %d, want %d", i, got, want)
		}
	}
}

// TestKNNRejectsBadInput: user-input mistakes are errors that say what is wrong.
func TestKNNRejectsBadInput(t *testing.T) {
	bank := Features{N: 3, D: 2, Data: []float32{1, 0, 0, 1, 1, 1}}
	q := Features{N: 2, D: 2, Data: []float32{1, 0, 0, 1}}
	q3 := Features{N: 1, D: 3, Data: []float32{1, 0, 0}}
	cases := []struct {
		name       string
		bank, q    Features
		bl, ql     []int
		opt        KNNOptions
		wantSubstr string
	}{
		{"bank label count", bank, q, []int{0, 1}, nil, KNNOptions{}, "2 labels for 3"},
		{"query label count", bank, q, []int{0, 1, 0}, []int{0}, KNNOptions{}, "1 labels for 2"},
		{"negative label", bank, q, []int{0, -1, 0}, nil, KNNOptions{}, "negative"},
		{"label beyond classes", bank, q, []int{0, 2, 0}, nil, KNNOptions{Classes: 2}, "outside [0, 2)"},
		{"feature sizes differ", bank, q3, []int{0, 1, 0}, nil, KNNOptions{}, "feature sizes differ"},
		{"negative k", bank, q, []int{0, 1, 0}, nil, KNNOptions{K: -1}, "k = -1"},
		{"negative temperature", bank, q, []int{0, 1, 0}, nil, KNNOptions{T: -0.1}, "temperature"},
		{"empty bank", Features{D: 2}, q, []int{}, nil, KNNOptions{}, "empty"},
		{"exclusion count", bank, q, []int{0, 1, 0}, nil, KNNOptions{Exclude: []int{0}}, "1 exclusions for 2"},
		{"exclusion out of range", bank, q, []int{0, 1, 0}, nil, KNNOptions{Exclude: []int{0, 3}}, "not a bank row"},
		{"both exclusions", bank, q, []int{0, 1, 0}, nil, KNNOptions{Exclude: []int{0, 1}, ExcludeSelf: true}, "not both"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := KNN(tc.bank, tc.bl, tc.q, tc.ql, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.wantSubstr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantSubstr)
			}
		})
	}
}

// TestKNNPanicsOnMalformedFeatures: a Features whose Data does not hold N·D values is a
// programming error, reported with the shape.
func TestKNNPanicsOnMalformedFeatures(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "[2, 3]") {
			t.Errorf("panic %v, want one naming the shape [2, 3]", r)
		}
	}()
	bad := Features{N: 2, D: 3, Data: make([]float32, 5)}
	KNN(bad, []int{0, 0}, bad, nil, KNNOptions{})
}

// TestRawPixelBaselineIsKNNOnBytes: the raw-pixel baseline needs nothing but FromBytes and KNN.
func TestRawPixelBaselineIsKNNOnBytes(t *testing.T) {
	pix := []byte{255, 0, 0, 250, 10, 0, 0, 255, 0, 5, 240, 0}
	bank, err := FromBytes(4, 3, pix)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := FromBytes(2, 3, []byte{200, 20, 0, 20, 200, 0})
	res, err := KNN(bank, []int{0, 0, 1, 1}, q, []int{0, 1}, KNNOptions{K: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Top1 != 1 {
		t.Errorf("raw-pixel kNN top-1 %v, want 1", res.Top1)
	}
	if _, err := FromBytes(4, 4, pix); err == nil {
		t.Error("FromBytes accepted 12 bytes as 4×4")
	}
}
