package method

import "github.com/contrastive-go/contrastive/autodiff"

// This file holds what the multi-crop methods share.

// instanceLabels returns 0, 1, …, n−1: every image its own class (SupCon as multi-view NT-Xent).
func instanceLabels(n int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = i
	}
	return l
}

// allViews returns the views of b as the groups that share a size: the global views X (V·N rows)
// and, with multi-crop, the local views (L·N rows).
func allViews(b Batch) []*autodiff.Var {
	if b.L > 0 {
		return []*autodiff.Var{b.X, b.Local}
	}
	return []*autodiff.Var{b.X}
}
