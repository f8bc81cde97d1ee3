// Package bicep reads Dropoff's Azure deployment templates (the *.bicep files
// under bicep/) into a small typed view that tests can query: the parameters,
// variables, resources, modules and outputs a file declares, with their
// decorators, bodies and expressions.
//
// Bicep's own compiler is a .NET tool that this repository does not assume, so
// the templates are parsed with the tree-sitter Bicep grammar
// (github.com/tree-sitter-grammars/tree-sitter-bicep) instead. That grammar
// checks syntax only: it knows nothing of resource types, API versions or
// scopes, and it lags the language. Valid Bicep that it does not parse —
// spread (...x), extension, resourceInput<...>, and params or outputs typed
// resource 'type@version' — is reported as a syntax error, never skipped
// silently, so a template that uses it fails its parse test loudly rather than
// being half-read.
//
// The view keeps what tests assert on and drops the rest:
//
//   - literals become Go values: String (escapes decoded), Bool, Number, Null,
//     *Object (properties in source order) and *Array;
//   - a string with `${...}` becomes an *Interp, its parts split out;
//   - anything else — references, calls, operators, lambdas, for-expressions —
//     is an *Expr holding its tree-sitter node kind and exact source text, with
//     helpers for the shapes tests care about (Call, Ref, Ternary);
//   - File.Calls and File.Strings look through the whole file, so a test can
//     assert that no listKeys call or connection string appears anywhere.
//
// Comments are ignored. Metadata, using, test and assert statements are
// parsed but not modelled.
//
// Only tests import this package (it imports "testing" for Load). tree-sitter is
// C, so parsing needs cgo; built without cgo, the package still compiles, Parse
// returns ErrNoCgo and Load skips the calling test with that reason.
package bicep
