package command

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// TestEveryKindIsWhole enumerates the kinds and fails when one lacks a piece
// or collides with another: a kind added without its decoder, its decision
// or its sample cannot pass silently (docs/extending.md).
func TestEveryKindIsWhole(t *testing.T) {
	seen := map[string]string{}
	for _, s := range Specs() {
		t.Run(string(s.Kind), func(t *testing.T) {
			if !strings.HasPrefix(string(s.Kind), "shipment.") || s.Name == "" || s.Method == "" ||
				!strings.HasPrefix(s.Path, "/v1/shipments/:id") {
				t.Errorf("kind %q: name %q, route %s %s; want a shipment.* kind with a name and a route under /v1/shipments/:id",
					s.Kind, s.Name, s.Method, s.Path)
			}
			for _, key := range []string{"kind " + string(s.Kind), "name " + s.Name, "route " + s.Method + " " + s.Path} {
				if other, dup := seen[key]; dup {
					t.Errorf("%s is also %s's", key, other)
				}
				seen[key] = string(s.Kind)
			}
			if s.Decode == nil || s.Decide == nil || s.Sample == nil {
				t.Fatalf("kind %s lacks Decode, Decide or Sample", s.Kind)
			}
			if got, ok := SpecOf(s.Kind); !ok || got.Name != s.Name {
				t.Errorf("SpecOf(%s) = %v, %v", s.Kind, got.Name, ok)
			}
		})
	}
	if _, ok := SpecOf("shipment.explode"); ok {
		t.Error("SpecOf found a kind that does not exist")
	}
}

// TestSamplesTravelAndApply: every kind's sample payload survives the trip
// through a message, and its decision accepts it, on a live shipment and (for
// a kind that creates) on none.
func TestSamplesTravelAndApply(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	live := shipment.Shipment{ID: "s-1", Recipient: "Ada", Destination: "x", WeightGrams: 5,
		Service: shipment.Standard, Status: shipment.Registered, Version: 4, CreatedAt: now, UpdatedAt: now}
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range Specs() {
		for _, isLive := range []bool{true, false} {
			p, ok := s.Sample(r, live, isLive)
			if !ok {
				if isLive {
					t.Errorf("%s has no sample for a live shipment", s.Kind)
				}
				continue
			}
			c := sample(t, s.Kind)
			c.IfMatch, c.Payload = 0, p
			m, err := c.Message()
			if err != nil {
				t.Fatalf("%s: encode the sample: %v", s.Kind, err)
			}
			got, err := Decode(m)
			if err != nil {
				t.Fatalf("%s: decode the sample: %v", s.Kind, err)
			}
			if diff := cmp.Diff(c, got); diff != "" {
				t.Errorf("%s: the sample changed on its way (-sent +decoded):\n%s", s.Kind, diff)
			}
			cur := live
			if !isLive {
				cur = shipment.Shipment{}
			}
			next, change, err := s.Decide(got, cur, isLive, now)
			if err != nil || change == "" || next.Version != cur.Version+1 {
				t.Errorf("%s (live %v): Decide = v%d %q %v; want the sample applied one version up", s.Kind, isLive, next.Version, change, err)
			}
		}
	}
}
