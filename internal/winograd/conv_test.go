package winograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// direct is the definition of a 3×3, stride-1, padding-1 convolution in float64, with the
// gradients of S = Σ y·dy: y [N,Cout,H,W], dx [N,Cin,H,W], dw [Cout,Cin,3,3].
func direct(s Shape, x, w, dy []float32) (y, dx, dw []float64) {
	h, wd := s.H, s.W
	y = make([]float64, s.N*s.Cout*h*wd)
	dx = make([]float64, s.N*s.Cin*h*wd)
	dw = make([]float64, s.Cout*s.Cin*9)
	for n := 0; n < s.N; n++ {
		for o := 0; o < s.Cout; o++ {
			for c := 0; c < s.Cin; c++ {
				xp := x[(n*s.Cin+c)*h*wd:]
				dxp := dx[(n*s.Cin+c)*h*wd:]
				wf := w[(o*s.Cin+c)*9:]
				dwf := dw[(o*s.Cin+c)*9:]
				yp := y[(n*s.Cout+o)*h*wd:]
				dyp := dy[(n*s.Cout+o)*h*wd:]
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						wv := float64(wf[ky*3+kx])
						var gw float64
						for oy := max(0, 1-ky); oy < min(h, h+1-ky); oy++ {
							iy := oy - 1 + ky
							for ox := max(0, 1-kx); ox < min(wd, wd+1-kx); ox++ {
								ix := ox - 1 + kx
								xv := float64(xp[iy*wd+ix])
								g := float64(dyp[oy*wd+ox])
								yp[oy*wd+ox] += wv * xv
								dxp[iy*wd+ix] += wv * g
								gw += xv * g
							}
						}
						dwf[ky*3+kx] += gw
					}
				}
			}
		}
	}
	return y, dx, dw
}

func randSlice(rng *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64() * scale)
	}
	return s
}

// relErr is max |got − want| / max |want|.
func relErr(got []float32, want []float64) float64 {
	var d, sc float64
	for i, w := range want {
		d = math.Max(d, math.Abs(float64(got[i])-w))
		sc = math.Max(sc, math.Abs(w))
	}
	return d / math.Max(sc, 1e-30)
}

// TestAgainstDirect checks Forward, InputGrad and WeightGrad against the float64 definition on
// small shapes: odd and even sides (partial tiles at the bottom, the right or both), 1×1 and
// 1×n planes, one image and several, chunks of one image and of many.
func TestAgainstDirect(t *testing.T) {
	defer func(c, g, bf, bt, gb int) {
		ChunkCols, GradChunkFloats, BlockFloats, MaxBlockTiles, GradBlockTiles = c, g, bf, bt, gb
	}(ChunkCols, GradChunkFloats, BlockFloats, MaxBlockTiles, GradBlockTiles)
	shapes := []Shape{
		{N: 3, Cin: 5, Cout: 7, H: 6, W: 8},
		{N: 2, Cin: 4, Cout: 3, H: 7, W: 9},
		{N: 1, Cin: 3, Cout: 2, H: 5, W: 4},
		{N: 2, Cin: 2, Cout: 3, H: 1, W: 1},
		{N: 2, Cin: 3, Cout: 2, H: 1, W: 5},
		{N: 4, Cin: 1, Cout: 9, H: 3, W: 2},
		{N: 3, Cin: 17, Cout: 70, H: 4, W: 3},
		{N: 3, Cin: 16, Cout: 32, H: 7, W: 5},
		{N: 5, Cin: 32, Cout: 16, H: 4, W: 4},
		{N: 2, Cin: 64, Cout: 48, H: 3, W: 6},
		{N: 20, Cin: 16, Cout: 16, H: 2, W: 1},
		// The AVX-512 path's tile-row groups: rows of 14, 15, 16 and 17 tiles (one-segment groups
		// and the rest of a row split off), of 7 and of 4 (two segments), odd and even sides.
		{N: 3, Cin: 16, Cout: 32, H: 9, W: 28},
		{N: 2, Cin: 16, Cout: 16, H: 5, W: 30},
		{N: 2, Cin: 16, Cout: 16, H: 4, W: 31},
		{N: 2, Cin: 32, Cout: 16, H: 3, W: 33},
		{N: 3, Cin: 16, Cout: 16, H: 13, W: 13},
		{N: 5, Cin: 16, Cout: 16, H: 8, W: 8},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		x := randSlice(rng, s.N*s.Cin*s.H*s.W, 1)
		w := randSlice(rng, s.Cout*s.Cin*9, 1)
		bias := randSlice(rng, s.Cout, 1)
		dy := randSlice(rng, s.N*s.Cout*s.H*s.W, 1)
		wantY, wantDX, wantDW := direct(s, x, w, dy)
		for o := 0; o < s.Cout; o++ {
			for n := 0; n < s.N; n++ {
				for p := 0; p < s.H*s.W; p++ {
					wantY[(n*s.Cout+o)*s.H*s.W+p] += float64(bias[o])
				}
			}
		}
		for _, cfg := range []struct{ cols, grad, blockTiles int }{{1, 1, 48}, {256, 1 << 22, 192}} {
			ChunkCols, GradChunkFloats, MaxBlockTiles, GradBlockTiles = cfg.cols, cfg.grad, cfg.blockTiles, cfg.blockTiles
			t.Run(fmt.Sprintf("%+v/chunk=%d", s, cfg.cols), func(t *testing.T) {
				y := randSlice(rng, len(wantY), 1) // overwritten
				Forward(s, x, w, bias, y)
				// dx and dw start at 1: the gradients are added.
				dx, dw := make([]float32, len(wantDX)), make([]float32, len(wantDW))
				for i := range dx {
					dx[i] = 1
				}
				for i := range dw {
					dw[i] = 1
				}
				InputGrad(s, dy, w, dx)
				WeightGrad(s, x, dy, dw)
				for i := range dx {
					dx[i]--
				}
				for i := range dw {
					dw[i]--
				}
				dxSet := randSlice(rng, len(wantDX), 1) // overwritten
				InputGradSet(s, dy, w, dxSet)
				for _, c := range []struct {
					name string
					got  []float32
					want []float64
				}{{"y", y, wantY}, {"dx", dx, wantDX}, {"dw", dw, wantDW}, {"dx (InputGradSet)", dxSet, wantDX}} {
					if e := relErr(c.got, c.want); e > 2e-6 {
						t.Errorf("%s: relative error %.3g", c.name, e)
					}
				}
			})
		}
	}
}

// TestWeightGradIsDeterministic checks that dW is the same, bit for bit, whatever the number of
// cores and however the chunks fall.
func TestWeightGradIsDeterministic(t *testing.T) {
	defer func(g, b int) { GradChunkFloats, GradBlockTiles = g, b }(GradChunkFloats, GradBlockTiles)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, s := range []Shape{{N: 12, Cin: 8, Cout: 6, H: 9, W: 7}, {N: 12, Cin: 16, Cout: 32, H: 9, W: 7}} {
		rng := rand.New(rand.NewPCG(3, 4))
		x, dy := randSlice(rng, s.N*s.Cin*s.H*s.W, 1), randSlice(rng, s.N*s.Cout*s.H*s.W, 1)
		GradChunkFloats = 16 * (s.Cin + s.Cout) * 20 * 2 // two images per chunk (generic path)
		GradBlockTiles = 48                              // 5 blocks in 3 groups (AVX-512 path)
		var first []float32
		for _, procs := range []int{1, 2, 3, 5} {
			runtime.GOMAXPROCS(procs)
			dw := make([]float32, s.Cout*s.Cin*9)
			WeightGrad(s, x, dy, dw)
			if first == nil {
				first = dw
				continue
			}
			for i, v := range dw {
				if math.Float32bits(v) != math.Float32bits(first[i]) {
					t.Fatalf("%+v, GOMAXPROCS=%d: dW[%d] = %v, with 1 core %v", s, procs, i, v, first[i])
				}
			}
		}
	}
}

// TestBlockChannels checks the channel-blocked copy against its definition on planes with and
// without a partial block of pixels.
func TestBlockChannels(t *testing.T) {
	if !avx512 {
		t.Skip("no AVX-512 path")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, hw := range []int{1, 9, 16, 49, 196, 784} {
		for _, c := range []int{16, 48} {
			src := randSlice(rng, c*hw, 1)
			dst := make([]float32, len(src))
			blockChannels(src, hw, dst)
			for ch := 0; ch < c; ch++ {
				for p := 0; p < hw; p++ {
					if got, want := dst[((ch/16)*hw+p)*16+ch%16], src[ch*hw+p]; got != want {
						t.Fatalf("hw=%d, c=%d: channel %d pixel %d = %v, want %v", hw, c, ch, p, got, want)
					}
				}
			}
		}
	}
}

// TestPackedFilters checks the AVX-512 filter transforms against the Go ones, bit for bit.
func TestPackedFilters(t *testing.T) {
	if !avx512 {
		t.Skip("no AVX-512 path")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][2]int{{16, 16}, {32, 16}, {16, 48}, {64, 128}} {
		cout, cin := s[0], s[1]
		w := randSlice(rng, cout*cin*9, 1)
		for _, ig := range []bool{false, true} {
			got, want := make([]float32, xis*cout*cin), make([]float32, xis*cout*cin)
			packedFilters(w, cout, cin, ig, got)
			packedFiltersGo(w, cout, cin, ig, want)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%d→%d, inputGrad %v: [%d] = %v, want %v", cin, cout, ig, i, got[i], want[i])
				}
			}
		}
	}
}

// TestFilterGradStrided checks the AVX-512 weight-gradient filter transform against the Go one,
// bit for bit, on padded and unpadded rows and ranges that start and end inside groups.
func TestFilterGradStrided(t *testing.T) {
	if !avx512 {
		t.Skip("no AVX-512 path")
	}
	defer func(v bool) { avx512 = v }(avx512)
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct{ rows, cols, ld, lo, hi int }{
		{16, 16, 16, 0, 256}, {16, 32, 48, 0, 512}, {8, 64, 64, 3, 397}, {24, 16, 32, 5, 380}, {1, 8, 8, 0, 8},
		{4, 24, 32, 0, 96},
	} {
		du := randSlice(rng, xis*c.rows*c.ld, 1)
		init := randSlice(rng, c.rows*c.cols*9, 1)
		got, want := append([]float32(nil), init...), append([]float32(nil), init...)
		avx512 = true
		filterGradStrided(du, c.rows, c.cols, c.ld, c.lo, c.hi, got)
		avx512 = false
		filterGradStrided(du, c.rows, c.cols, c.ld, c.lo, c.hi, want)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%+v: dW[%d] = %v, want %v", c, i, got[i], want[i])
			}
		}
	}
}
