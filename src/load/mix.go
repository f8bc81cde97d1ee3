package load

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Kind is one kind of request the generator sends.
type Kind int

// The kinds of request, as named in a mix.
const (
	Put     Kind = iota // create, re-create after a delete, or replace
	Patch               // change fields, move the status forward
	Delete              // cancel; the shipment's next command is a re-PUT
	Fail                // a PATCH with an If-Match that cannot hold: Failed, PreconditionFailed
	Invalid             // a request the API must refuse with a 4xx
	numKinds
)

var kindNames = [numKinds]string{"put", "patch", "delete", "fail", "invalid"}

func (k Kind) String() string { return kindNames[k] }

// Mix is the relative weight of each kind of request.
type Mix [numKinds]int

// DefaultMix is mostly patches, as a shipment's life is.
const DefaultMix = "put=15,patch=65,delete=5,fail=5,invalid=10"

// ParseMix reads "put=20,patch=65,delete=5,invalid=10": weights, not
// necessarily summing to 100; a kind left out has weight 0.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return m, fmt.Errorf("mix %q: want kind=weight pairs, such as %s", s, DefaultMix)
		}
		k := -1
		for i, n := range kindNames {
			if n == name {
				k = i
			}
		}
		if k < 0 {
			return m, fmt.Errorf("mix %q: unknown kind %q (want put, patch, delete, fail, invalid)", s, name)
		}
		if seen[name] {
			return m, fmt.Errorf("mix %q: %s given twice", s, name)
		}
		seen[name] = true
		w, err := strconv.Atoi(value)
		if err != nil || w < 0 {
			return m, fmt.Errorf("mix %q: weight of %s must be a non-negative integer", s, name)
		}
		m[k] = w
	}
	if m.total() == 0 {
		return m, fmt.Errorf("mix %q: all weights are 0", s)
	}
	return m, nil
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// pick draws a kind with probability proportional to its weight.
func (m Mix) pick(r *rand.Rand) Kind {
	n := r.IntN(m.total())
	for k, w := range m {
		if n < w {
			return Kind(k)
		}
		n -= w
	}
	return Patch // unreachable: n < total
}

func (m Mix) String() string {
	parts := make([]string, 0, numKinds)
	for k, w := range m {
		parts = append(parts, kindNames[k]+"="+strconv.Itoa(w))
	}
	return strings.Join(parts, ",")
}
