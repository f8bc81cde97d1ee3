package load

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/dropoff-dev/dropoff/src/command"
)

// Kind is one kind of request the generator sends, by name: a command
// kind's (command.Spec.Name: put, patch, delete), or one of the two below.
type Kind string

// The kinds of request that are not a command kind of their own.
const (
	Fail    Kind = "fail"    // a PATCH with an If-Match that cannot hold: Failed, PreconditionFailed
	Invalid Kind = "invalid" // a request the API must refuse with a 4xx
)

// kinds lists every kind a mix may name, in order: the command kinds, then
// Fail and Invalid.
func kinds() []Kind {
	var out []Kind
	for _, s := range command.Specs() {
		out = append(out, Kind(s.Name))
	}
	return append(out, Fail, Invalid)
}

// Mix is the relative weight of each kind of request.
type Mix map[Kind]int

// DefaultMix is mostly patches, as a shipment's life is.
const DefaultMix = "put=15,patch=65,delete=5,fail=5,invalid=10"

// ParseMix reads "put=20,patch=65,delete=5,invalid=10": weights, not
// necessarily summing to 100; a kind left out has weight 0.
func ParseMix(s string) (Mix, error) {
	m := Mix{}
	known := kinds()
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return m, fmt.Errorf("mix %q: want kind=weight pairs, such as %s", s, DefaultMix)
		}
		k := Kind(name)
		if !slices.Contains(known, k) {
			return m, fmt.Errorf("mix %q: unknown kind %q (want %s)", s, name, joinKinds(known))
		}
		if _, seen := m[k]; seen {
			return m, fmt.Errorf("mix %q: %s given twice", s, name)
		}
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
	for _, k := range kinds() {
		if n -= m[k]; n < 0 {
			return k
		}
	}
	return Invalid // unreachable: n < total
}

func (m Mix) String() string {
	parts := make([]string, 0, len(m))
	for _, k := range kinds() {
		parts = append(parts, string(k)+"="+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, ",")
}

func joinKinds(ks []Kind) string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
