package load

import (
	"maps"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestVerify(t *testing.T) {
	acc := []Accepted{{"a", true}, {"b", true}, {"f", false}, {"c", true}, {"d", true}}
	tests := []struct {
		name    string
		history []string
		want    Verdict
	}{
		{"exact", []string{"a", "b", "c", "d"}, Verdict{}},
		{"lost one", []string{"a", "c", "d"}, Verdict{Lost: 1}},
		{"lost all", nil, Verdict{Lost: 4}},
		{"duplicated", []string{"a", "b", "b", "c", "d"}, Verdict{Duplicated: 1}},
		{"duplicated later", []string{"a", "b", "c", "d", "a"}, Verdict{Duplicated: 1}},
		{"swapped", []string{"a", "c", "b", "d"}, Verdict{OutOfOrder: 1}},
		{"one moved to the front", []string{"d", "a", "b", "c"}, Verdict{OutOfOrder: 1}},
		{"reversed", []string{"d", "c", "b", "a"}, Verdict{OutOfOrder: 3}},
		{"failed operation applied", []string{"a", "b", "f", "c", "d"}, Verdict{Unexpected: 1}},
		{"unknown operation", []string{"a", "b", "x", "c", "d"}, Verdict{Unexpected: 1}},
		{"everything at once", []string{"b", "a", "a", "x", "d"}, Verdict{Lost: 1, Duplicated: 1, OutOfOrder: 1, Unexpected: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Verify(acc, tt.history)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Verify(%v) (-want +got):\n%s", tt.history, diff)
			}
			if got.Clean() != (tt.want == Verdict{}) {
				t.Errorf("Clean: got %v, want %v", got.Clean(), tt.want == Verdict{})
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		ds := make([]time.Duration, len(ns))
		for i, n := range ns {
			ds[i] = time.Duration(n) * time.Millisecond
		}
		return ds
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even is the lower", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p90 of 1..100", hundred, 90, 90 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"p99 of ten is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(p%g): got %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestParseMix(t *testing.T) {
	tests := []struct {
		in      string
		want    Mix
		wantErr bool
	}{
		{in: "put=20,patch=65,delete=5,invalid=10", want: Mix{"put": 20, "patch": 65, "delete": 5, "invalid": 10}},
		{in: " patch=1 , fail=2", want: Mix{"patch": 1, "fail": 2}},
		{in: DefaultMix, want: Mix{"put": 15, "patch": 65, "delete": 5, "fail": 5, "invalid": 10}},
		{in: "", wantErr: true},
		{in: "put", wantErr: true},
		{in: "put=x", wantErr: true},
		{in: "put=-1", wantErr: true},
		{in: "teleport=3", wantErr: true},
		{in: "put=1,put=2", wantErr: true},
		{in: "put=0,patch=0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMix(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseMix(%q): got error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && !maps.Equal(got, tt.want) {
				t.Errorf("ParseMix(%q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
