package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// DefaultQueryFraction is the share of each class that StratifiedSplit holds out as queries
// when frac is 0.
const DefaultQueryFraction = 0.2

// StratifiedSplit splits rows 0..len(labels)−1 into a memory bank and a query set for kNN (or a
// train and a test split for the linear probe) when a dataset has no test split of its own.
// Within every class, round(frac·n_c) rows, chosen by a seeded shuffle, become queries and the
// rest the bank; a class always keeps at least one row in the bank, so a class with a single row
// goes entirely to the bank. frac = 0 means DefaultQueryFraction (20%). Both index lists are
// sorted. The same labels, frac and seed always give the same split.
//
// It panics when frac is outside [0, 1): the fraction is fixed by the calling program, which
// validates any flag it comes from.
//
//	bank, query := eval.StratifiedSplit(labels, 0, 1)
//	res, err := eval.KNN(h.Subset(bank), eval.Pick(labels, bank), h.Subset(query), eval.Pick(labels, query), eval.KNNOptions{})
func StratifiedSplit(labels []int, frac float64, seed uint64) (bank, query []int) {
	if frac == 0 {
		frac = DefaultQueryFraction
	}
	if !(frac >= 0 && frac < 1) {
		panic(fmt.Sprintf("eval.StratifiedSplit: query fraction %v is outside [0, 1)", frac))
	}
	byClass := map[int][]int{}
	for i, y := range labels {
		byClass[y] = append(byClass[y], i)
	}
	classes := make([]int, 0, len(byClass))
	for y := range byClass {
		classes = append(classes, y)
	}
	sort.Ints(classes)
	rng := rand.New(rand.NewPCG(seed, 0xda3e39cb94b95bdb))
	bank = make([]int, 0, len(labels))
	for _, y := range classes {
		rows := byClass[y]
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		nq := min(int(math.Round(frac*float64(len(rows)))), len(rows)-1)
		query = append(query, rows[:nq]...)
		bank = append(bank, rows[nq:]...)
	}
	sort.Ints(bank)
	sort.Ints(query)
	return bank, query
}

// Pick returns labels[idx[0]], labels[idx[1]], …: the labels of the rows Features.Subset(idx)
// selects.
func Pick(labels []int, idx []int) []int {
	out := make([]int, len(idx))
	for i, j := range idx {
		out[i] = labels[j]
	}
	return out
}
