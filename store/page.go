package store

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Page sizes.
const (
	// DefaultLimit is the page size when a query names none.
	DefaultLimit = 50
	// MaxLimit is the largest page a query may ask for.
	MaxLimit = 1000
	// scanFactor bounds the batches of rows one page reads past the
	// caller's read scope: a page may come back short, with a cursor to
	// go on.
	scanFactor = 20
)

// Page says where a query starts and how much it returns.
type Page struct {
	// Limit is the most records to return: 0 is DefaultLimit; over
	// MaxLimit is an error.
	Limit int
	// Cursor is the Next of the previous page, or empty for the first.
	Cursor string
}

// cursor is a page's position, opaque to callers: the query it belongs to
// and the key of the last record returned.
type cursor struct {
	Query string `json:"q"`
	ID    int64  `json:"i"`
	Time  int64  `json:"t,omitempty"`
	Key   string `json:"k,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // only ints and strings
	return base64.RawURLEncoding.EncodeToString(b)
}

// limit validates the page size.
func (p Page) limit() (int, error) {
	switch {
	case p.Limit < 0 || p.Limit > MaxLimit:
		return 0, fmt.Errorf("%w: page size %d: want 1 to %d", hallmark.ErrInvalid, p.Limit, MaxLimit)
	case p.Limit == 0:
		return DefaultLimit, nil
	}
	return p.Limit, nil
}

// decode reads the page's cursor, which must belong to query.
func (p Page) decode(query string) (cursor, error) {
	if p.Cursor == "" {
		return cursor{Query: query}, nil
	}
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil || len(b) > 1024 || json.Unmarshal(b, &c) != nil || c.Query != query || c.ID < 0 {
		return c, fmt.Errorf("%w: malformed page cursor: pass the next cursor of the page before, unchanged", hallmark.ErrInvalid)
	}
	return c, nil
}

// scope is the read scope every query needs: nil means nothing is
// readable, so that a forgotten scope fails closed.
func readable(f func(repository string) bool) func(string) bool {
	if f == nil {
		return func(string) bool { return false }
	}
	return f
}

// collect reads rows of query in batches of limit until it has limit
// records that scan keeps, the rows run out, or it has read scanFactor
// batches. query runs once per batch and must start after the last row
// scan saw. more says a next page may hold records.
func collect[T any](limit int, query func() (*sql.Rows, error), scan func(*sql.Rows) (T, bool, error)) (out []T, more bool, err error) {
	more = true
	for batch := 0; more && len(out) < limit && batch < scanFactor; batch++ {
		rows, err := query()
		if err != nil {
			return nil, false, err
		}
		n, full := 0, false
		for rows.Next() {
			if len(out) == limit {
				full = true
				break
			}
			v, keep, err := scan(rows)
			if err != nil {
				rows.Close()
				return nil, false, err
			}
			n++
			if keep {
				out = append(out, v)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, false, err
		}
		more = full || n == limit
	}
	return out, more, nil
}
