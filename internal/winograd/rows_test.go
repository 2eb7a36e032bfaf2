package winograd

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestRowGroupLayout checks the field offsets rows_amd64.s reads.
func TestRowGroupLayout(t *testing.T) {
	var rg rowGroup
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"pin", unsafe.Offsetof(rg.pin), 0},
		{"pout", unsafe.Offsetof(rg.pout), 256},
		{"in", unsafe.Offsetof(rg.in), 384},
		{"out", unsafe.Offsetof(rg.out), 400},
		{"inMsk", unsafe.Offsetof(rg.inMsk), 416},
		{"outMsk", unsafe.Offsetof(rg.outMsk), 432},
		{"lanes", unsafe.Offsetof(rg.lanes), 440},
		{"in4", unsafe.Offsetof(rg.in4), 456},
		{"out4", unsafe.Offsetof(rg.out4), 488},
		{"inMsk4", unsafe.Offsetof(rg.inMsk4), 520},
		{"outMsk4", unsafe.Offsetof(rg.outMsk4), 552},
	} {
		if c.got != c.want {
			t.Errorf("rowGroup.%s at %d, rows_amd64.s reads it at %d", c.name, c.got, c.want)
		}
	}
}

// TestRowGroupsCover checks that the groups of a block take its tiles in order, each once, at
// most 16 a group, in at most two segments that each stay in one tile row.
func TestRowGroupsCover(t *testing.T) {
	for _, w := range []int{1, 2, 5, 8, 13, 14, 15, 28, 30, 31, 33, 64} {
		g := NewGeom(5, w)
		tiles := g.Tiles()
		for _, span := range [][2]int{{0, 3 * tiles}, {tiles/2 + 1, 2*tiles - 1}, {3, 1}} {
			groups := g.rowGroups(nil, span[0], span[1], 1, 1)
			n := 0
			for _, rg := range groups {
				if rg.n < 1 || rg.n > lanes || rg.lanes != uint16(1<<rg.n-1) {
					t.Fatalf("W=%d: group of %d tiles, lanes %#x", w, rg.n, rg.lanes)
				}
				n += rg.n
			}
			if n != span[1] {
				t.Errorf("W=%d, tiles %v: groups take %d tiles", w, span, n)
			}
		}
	}
}

// TestQuadGroupsSameBits checks that quad groups (images of at most 3 tiles a row) give the
// two-segment groups' results bit for bit, forward and input gradient.
func TestQuadGroupsSameBits(t *testing.T) {
	if !avx512 {
		t.Skip("no AVX-512 path")
	}
	defer func(q bool) { quadGroups = q }(quadGroups)
	rng := rand.New(rand.NewPCG(15, 16))
	for _, s := range []Shape{{N: 5, Cin: 32, Cout: 16, H: 4, W: 4}, {N: 3, Cin: 16, Cout: 32, H: 6, W: 5}, {N: 7, Cin: 16, Cout: 16, H: 3, W: 3}, {N: 9, Cin: 16, Cout: 16, H: 2, W: 1}} {
		x, w, dy := randSlice(rng, s.N*s.Cin*s.H*s.W, 1), randSlice(rng, s.Cout*s.Cin*9, 1), randSlice(rng, s.N*s.Cout*s.H*s.W, 1)
		var got [2][2][]float32
		for i, q := range []bool{true, false} {
			quadGroups = q
			y, dx := make([]float32, len(dy)), make([]float32, len(x))
			Forward(s, x, w, nil, y)
			InputGradSet(s, dy, w, dx)
			got[i] = [2][]float32{y, dx}
		}
		for k, name := range []string{"y", "dx"} {
			for i := range got[0][k] {
				if math.Float32bits(got[0][k][i]) != math.Float32bits(got[1][k][i]) {
					t.Fatalf("%+v %s[%d]: quad %v, two-segment %v", s, name, i, got[0][k][i], got[1][k][i])
				}
			}
		}
	}
}
