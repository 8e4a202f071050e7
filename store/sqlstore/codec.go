package sqlstore

import (
	"database/sql"
	"fmt"
	"time"
)

// at is a scan destination for a NOT NULL time column, stored either as
// unix microseconds or as a timestamp; it always reads back in UTC.
func at(p *time.Time) TimeDest { return timeDest{p} }

// atNull is at for a nullable column: NULL reads back as nil.
func atNull(p **time.Time) TimeDest { return nullTimeDest{p} }

// TimeDest is at's and atNull's destination. A RowReader whose driver
// decodes times itself calls SetTime, where going through Scan would box
// every time in a driver.Value.
type TimeDest interface {
	sql.Scanner
	// SetTime stores t, or NULL when valid is false.
	SetTime(t time.Time, valid bool) error
}

type timeDest struct{ p *time.Time }

func (d timeDest) Scan(src any) error { return scanTime(d, src) }

func (d timeDest) SetTime(t time.Time, valid bool) error {
	if !valid {
		return fmt.Errorf("sqlstore: NULL in a NOT NULL time column")
	}
	*d.p = t.UTC()
	return nil
}

type nullTimeDest struct{ p **time.Time }

func (d nullTimeDest) Scan(src any) error { return scanTime(d, src) }

func (d nullTimeDest) SetTime(t time.Time, valid bool) error {
	if !valid {
		*d.p = nil
		return nil
	}
	t = t.UTC()
	*d.p = &t
	return nil
}

// scanTime reads src, unix microseconds or a time, into d.
func scanTime(d TimeDest, src any) error {
	switch v := src.(type) {
	case nil:
		return d.SetTime(time.Time{}, false)
	case int64:
		return d.SetTime(time.UnixMicro(v), true)
	case time.Time:
		return d.SetTime(v, true)
	}
	return fmt.Errorf("sqlstore: cannot read %T as a time", src)
}

// nullTime writes an optional time: nil is NULL.
func (s *Store) nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.d.Time(*t)
}

// nullBytes writes an empty byte slice as NULL, so that it reads back nil.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
