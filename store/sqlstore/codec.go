package sqlstore

import (
	"database/sql"
	"fmt"
	"time"
)

// at is a scan destination for a NOT NULL time column, stored either as
// unix microseconds or as a timestamp; it always reads back in UTC.
func at(p *time.Time) sql.Scanner { return timeDest{p} }

// atNull is at for a nullable column: NULL reads back as nil.
func atNull(p **time.Time) sql.Scanner { return nullTimeDest{p} }

type timeDest struct{ p *time.Time }

func (d timeDest) Scan(src any) error {
	t, ok, err := decodeTime(src)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sqlstore: NULL in a NOT NULL time column")
	}
	*d.p = t
	return nil
}

type nullTimeDest struct{ p **time.Time }

func (d nullTimeDest) Scan(src any) error {
	t, ok, err := decodeTime(src)
	if err != nil {
		return err
	}
	if !ok {
		*d.p = nil
		return nil
	}
	*d.p = &t
	return nil
}

func decodeTime(src any) (time.Time, bool, error) {
	switch v := src.(type) {
	case nil:
		return time.Time{}, false, nil
	case int64:
		return time.UnixMicro(v).UTC(), true, nil
	case time.Time:
		return v.UTC(), true, nil
	}
	return time.Time{}, false, fmt.Errorf("sqlstore: cannot read %T as a time", src)
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
