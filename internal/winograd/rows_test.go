package winograd

import (
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
