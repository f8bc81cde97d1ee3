//go:build !cgo

package bicep

// haveCgo is false here: the grammar is C, so this build cannot parse and
// Parse, ParseFile and ParseDir return ErrNoCgo.
const haveCgo = false

func parse(string, []byte) (*File, error) { return nil, ErrNoCgo }
