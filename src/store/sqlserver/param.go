package sqlserver

import (
	"database/sql"
	"unicode/utf16"

	mssql "github.com/microsoft/go-mssqldb"
)

// Parameters of fixed types, so that plans are reused.
//
// go-mssqldb declares a string parameter by its actual length: "Ada" is
// NVARCHAR(3), "Grace" NVARCHAR(5). SQL Server caches a plan per statement
// text and parameter declaration, so every combination of lengths compiled
// and cached a plan of its own, and the plan cache filled with copies of one
// statement. Every string here goes as NVARCHAR(MAX) instead (str), and a
// NULL string as NVARCHAR(4000) (nullStr): a statement has one declaration,
// or one per combination of its NULLs, whatever the values. Numbers, bits and
// times have fixed types already (bigint, bit, datetimeoffset(7)).
//
// A lookup casts its key to the column's type (CAST(@id AS NVARCHAR(64))), so
// that the comparison is of like types and the index is sought; fits keeps a
// key longer than the column, which cannot be in it, from being truncated
// into one that is.

// idWidth is the width of the id columns, in UTF-16 code units.
const idWidth = 64

// str passes s as NVARCHAR(MAX).
func str(s string) any { return mssql.NVarCharMax(s) }

// nullStr is a NULL string parameter.
func nullStr() any { return sql.NullString{} }

// optStr passes s as NVARCHAR(MAX), or NULL when it is not valid.
func optStr(s string, valid bool) any {
	if !valid {
		return nullStr()
	}
	return str(s)
}

// fits reports whether s fits an NVARCHAR(n) column, which counts UTF-16
// code units.
func fits(s string, n int) bool {
	if len(s) <= n {
		return true // a byte or more per code unit
	}
	units := 0
	for _, r := range s {
		units += utf16.RuneLen(r)
		if units > n {
			return false
		}
	}
	return true
}
