package eval

import (
	"reflect"
	"strings"
	"testing"
)

// TestStratifiedSplit: per-class query counts, a partition of all rows, sorted outputs, and
// singleton classes kept in the bank.
func TestStratifiedSplit(t *testing.T) {
	many := make([]int, 0, 130)
	for c, n := range []int{50, 30, 1, 2, 47} {
		for i := 0; i < n; i++ {
			many = append(many, c)
		}
	}
	cases := []struct {
		name       string
		labels     []int
		frac       float64
		wantQuery  map[int]int // class → query count
		totalQuery int
	}{
		{"default 20% per class", many, 0, map[int]int{0: 10, 1: 6, 2: 0, 3: 0, 4: 9}, 25},
		{"half per class", many, 0.5, map[int]int{0: 25, 1: 15, 2: 0, 3: 1, 4: 24}, 65},
		{"every class keeps a bank row", []int{7, 7, 7, 9, 9}, 0.99, map[int]int{7: 2, 9: 1}, 3},
		{"single sample goes to the bank", []int{3}, 0.5, map[int]int{3: 0}, 0},
		{"negative labels are classes too", []int{-1, -1, -1, -1, -1, 2, 2, 2, 2, 2}, 0.4, map[int]int{-1: 2, 2: 2}, 4},
		{"no labels", nil, 0, map[int]int{}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bank, query := StratifiedSplit(tc.labels, tc.frac, 42)
			if len(query) != tc.totalQuery || len(bank)+len(query) != len(tc.labels) {
				t.Fatalf("%d bank + %d query rows, want %d queries of %d rows", len(bank), len(query), tc.totalQuery, len(tc.labels))
			}
			seen := make([]bool, len(tc.labels))
			for _, part := range [][]int{bank, query} {
				for i, r := range part {
					if seen[r] {
						t.Fatalf("row %d appears twice", r)
					}
					seen[r] = true
					if i > 0 && part[i-1] >= r {
						t.Fatalf("indices not sorted: %v", part)
					}
				}
			}
			got := map[int]int{}
			for _, r := range query {
				got[tc.labels[r]]++
			}
			for c, want := range tc.wantQuery {
				if got[c] != want {
					t.Errorf("class %d: %d queries, want %d", c, got[c], want)
				}
			}
		})
	}
}

// TestStratifiedSplitIsSeeded: same seed, same split; another seed, another split.
func TestStratifiedSplitIsSeeded(t *testing.T) {
	labels := make([]int, 200)
	for i := range labels {
		labels[i] = i % 4
	}
	b1, q1 := StratifiedSplit(labels, 0.2, 1)
	b2, q2 := StratifiedSplit(labels, 0.2, 1)
	_, q3 := StratifiedSplit(labels, 0.2, 2)
	if !reflect.DeepEqual(b1, b2) || !reflect.DeepEqual(q1, q2) {
		t.Error("same seed gave different splits")
	}
	if reflect.DeepEqual(q1, q3) {
		t.Error("seeds 1 and 2 gave the same queries")
	}
	if got := Pick(labels, q1[:3]); !reflect.DeepEqual(got, []int{labels[q1[0]], labels[q1[1]], labels[q1[2]]}) {
		t.Errorf("Pick = %v", got)
	}
}

// TestStratifiedSplitPanicsOnBadFraction: a fraction outside [0, 1) is a programming error.
func TestStratifiedSplitPanicsOnBadFraction(t *testing.T) {
	for _, frac := range []float64{-0.1, 1, 1.5} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "outside [0, 1)") {
					t.Errorf("frac %v: panic %v, want one naming the range", frac, r)
				}
			}()
			StratifiedSplit([]int{0, 0, 1}, frac, 0)
		}()
	}
}
