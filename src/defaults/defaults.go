// Package defaults is the one way Dropoff's configurations fill their
// fields: a zero field takes its default, and a negative one is refused,
// with its name. Every package's Config has a withDefaults method that
// returns a filled copy, built on Fill. Standard library only.
package defaults

import (
	"errors"
	"fmt"
	"time"
)

// Field is one setting of a configuration: where it is, its default and its
// name (see Of).
type Field struct {
	name string
	fill func() (negative bool)
}

// Of is the field *v, named name, whose default is def.
func Of[T int | int64 | time.Duration](name string, v *T, def T) Field {
	return Field{name: name, fill: func() bool {
		if *v == 0 {
			*v = def
		}
		return *v < 0
	}}
}

// Fill gives every zero field its default and returns an error naming each
// negative one, prefixed with what (such as "worker config").
func Fill(what string, fields ...Field) error {
	var errs []error
	for _, f := range fields {
		if f.fill() {
			errs = append(errs, fmt.Errorf("%s: %s must not be negative", what, f.name))
		}
	}
	return errors.Join(errs...)
}
