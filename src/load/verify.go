package load

import "sort"

// Accepted is one command a shipment was sent and that was accepted, in the
// order it was accepted.
type Accepted struct {
	OperationID string
	// Applies says whether the command must leave a history entry: true for
	// a command predicted to succeed, false for one that must fail (a failed
	// operation changes nothing, so it has no entry).
	Applies bool
}

// Verdict counts what is wrong with a shipment's history.
type Verdict struct {
	// Lost: accepted commands that should have applied but have no entry.
	Lost int `json:"lost"`
	// Duplicated: entries beyond the first for the same operation.
	Duplicated int `json:"duplicated"`
	// OutOfOrder: entries that must move for the history to follow the
	// order of acceptance (entries outside its longest in-order subsequence).
	OutOfOrder int `json:"out_of_order"`
	// Unexpected: entries of an operation that was not accepted for this
	// shipment or that should have failed.
	Unexpected int `json:"unexpected"`
}

// Add sums two verdicts.
func (v Verdict) Add(o Verdict) Verdict {
	return Verdict{v.Lost + o.Lost, v.Duplicated + o.Duplicated, v.OutOfOrder + o.OutOfOrder, v.Unexpected + o.Unexpected}
}

// Clean reports whether nothing is wrong.
func (v Verdict) Clean() bool { return v == Verdict{} }

// Verify compares the operation ids of a shipment's history, in version
// order, with the commands accepted for it, in the order they were accepted.
// Each command that applies must appear exactly once, in acceptance order.
func Verify(accepted []Accepted, history []string) Verdict {
	var v Verdict
	pos := make(map[string]int, len(accepted))
	for i, a := range accepted {
		pos[a.OperationID] = i
	}
	seen := make(map[string]bool, len(history))
	var order []int // acceptance positions of the first entries of accepted operations
	for _, id := range history {
		i, ok := pos[id]
		switch {
		case !ok || !accepted[i].Applies:
			v.Unexpected++
		case seen[id]:
			v.Duplicated++
		default:
			seen[id] = true
			order = append(order, i)
		}
	}
	for _, a := range accepted {
		if a.Applies && !seen[a.OperationID] {
			v.Lost++
		}
	}
	v.OutOfOrder = len(order) - longestIncreasing(order)
	return v
}

// longestIncreasing is the length of the longest strictly increasing
// subsequence of xs (patience sorting, O(n log n)).
func longestIncreasing(xs []int) int {
	var tails []int // tails[k]: the smallest tail of an increasing run of length k+1
	for _, x := range xs {
		k := sort.SearchInts(tails, x)
		if k == len(tails) {
			tails = append(tails, x)
		} else {
			tails[k] = x
		}
	}
	return len(tails)
}
