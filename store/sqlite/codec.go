package sqlite

import (
	"database/sql"
	"encoding/json"
	"time"
)

// ts is how a time is stored: unix microseconds, which truncates to the
// precision PostgreSQL keeps so both backends return identical values.
func ts(t time.Time) int64 { return t.UnixMicro() }

// fromTS is the inverse of ts; stored times always come back in UTC.
func fromTS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullTS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromTS(v.Int64)
	return &t
}

// encodeList stores a string list as a JSON array, in the given order.
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, err := json.Marshal(l)
	if err != nil {
		// Marshalling []string cannot fail.
		panic(err)
	}
	return string(b)
}

func decodeList(s string) ([]string, error) {
	l := []string{}
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	return l, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// nullTS is ts for an optional time: nil is stored as NULL.
func nullTS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ts(*t), Valid: true}
}

// nullBytes stores an empty byte slice as NULL, so that it comes back nil.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
