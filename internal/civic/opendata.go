package civic

import (
	"context"
	"time"
)

// DataType is the type of a column of a published dataset (internal/opendata).
type DataType string

// The column types of published datasets, and the Go type of their values
// as DataStore.StreamData hands them over (nil for a null of any type).
const (
	DataText    DataType = "text"    // string
	DataNumber  DataType = "number"  // float64
	DataInteger DataType = "integer" // int64
	DataBoolean DataType = "boolean" // bool
	DataTime    DataType = "time"    // time.Time, UTC
	DataDate    DataType = "date"    // string YYYY-MM-DD
)

// DataColumn is one column of a published dataset: its entry in the data
// dictionary.
type DataColumn struct {
	Name        string   `json:"name"`
	Type        DataType `json:"type"`
	Description string   `json:"description"`
	// Decimals, when positive on a number column, rounds the column to
	// that many decimal places in the database, before any filter or order
	// applies: a location published at 3 decimals (about 100 m) cannot be
	// narrowed down by a $where on it.
	Decimals int `json:"decimals,omitempty"`
}

// DataSource is where a dataset's rows come from: trusted SQL written in
// the dataset registry, never user input. Every column it returns must be
// declared, in any order; on SQLite time columns are the store's fixed-width
// text (2006-01-02T15:04:05.000Z), dates are text YYYY-MM-DD on both
// engines.
type DataSource struct {
	// SQL is the SELECT both engines run, unless Postgres is set.
	SQL string
	// Postgres replaces SQL on PostgreSQL where the dialects differ.
	Postgres string
	// Version are queries that each return one row of two columns, a time
	// (or NULL) and a count, that change whenever the rows of the dataset
	// change: the dataset's last update and its ETag come from them.
	Version []string
}

// DataExpr is a node of a filter's syntax tree (a parsed $where): one of
// DataCompare, DataBetween, DataIn, DataIsNull, DataAnd and DataOr. Values
// are typed for their column: string (text, date), float64, int64, bool or
// time.Time.
type DataExpr interface{ dataExpr() }

// DataCompare is Column Op Value, Op one of = != < <= > >=.
type DataCompare struct {
	Column string
	Op     string
	Value  any
}

// DataBetween is Column [NOT] BETWEEN Low AND High (both inclusive).
type DataBetween struct {
	Column    string
	Not       bool
	Low, High any
}

// DataIn is Column [NOT] IN (Values...).
type DataIn struct {
	Column string
	Not    bool
	Values []any
}

// DataIsNull is Column IS [NOT] NULL.
type DataIsNull struct {
	Column string
	Not    bool
}

// DataAnd holds when all its terms hold.
type DataAnd struct{ Terms []DataExpr }

// DataOr holds when any of its terms holds.
type DataOr struct{ Terms []DataExpr }

func (DataCompare) dataExpr() {}
func (DataBetween) dataExpr() {}
func (DataIn) dataExpr()      {}
func (DataIsNull) dataExpr()  {}
func (DataAnd) dataExpr()     {}
func (DataOr) dataExpr()      {}

// DataOrder is one term of a sort order.
type DataOrder struct {
	Column string
	Desc   bool
}

// DataQuery asks for rows of a dataset. Every column it names is one of
// Columns: the parser checked them against the dataset's declaration.
type DataQuery struct {
	Source  DataSource
	Columns []DataColumn // every declared column of Source
	Select  []string     // the columns each row holds, in order
	Where   DataExpr     // nil: every row
	Order   []DataOrder  // applied in order; callers end it with a unique key
	Limit   int          // 0: no limit
	Offset  int
}

// DataStore reads published datasets.
type DataStore interface {
	// StreamData runs q and calls each with every row, in order, without
	// holding the result in memory. row holds the values of q.Select (see
	// DataType for their Go types) and is reused: each must not keep it. An
	// error from each stops the query and is returned as is.
	StreamData(ctx context.Context, q DataQuery, each func(row []any) error) error
	// DataVersion runs src.Version and returns the newest time they name
	// (zero if none) and a token that changes with any of their results.
	DataVersion(ctx context.Context, src DataSource) (modified time.Time, token string, err error)
}
