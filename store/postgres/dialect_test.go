package postgres

import (
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestTextArrayFastPathMatchesPgtype: the plain form read by hand gives
// what pgtype gives, and everything else is left to pgtype.
func TestTextArrayFastPathMatchesPgtype(t *testing.T) {
	for _, c := range []struct {
		text  string
		plain bool
	}{
		{`{}`, true},
		{`{owner}`, true},
		{`{owner,admin,member}`, true},
		{`{apikeys:write,tenant:read}`, true},
		{`{"a b",c}`, false},
		{`{"a,b"}`, false},
		{`{a\,b}`, false},
		{`{NULL}`, false},
		{`{a,NULL}`, false},
		{`{{a},{b}}`, false},
		{`{"",x}`, false},
		{`{ a , b }`, false},
	} {
		var want []string
		m := pgtype.NewMap()
		wantErr := m.Scan(pgtype.TextArrayOID, pgtype.TextFormatCode, []byte(c.text), &want)
		got, ok := plainTextArray([]byte(c.text))
		if ok != c.plain {
			t.Errorf("%s: fast path %v, want %v", c.text, ok, c.plain)
			continue
		}
		if ok && (wantErr != nil || !reflect.DeepEqual(got, append([]string{}, want...))) {
			t.Errorf("%s: fast path %q, pgtype %q (%v)", c.text, got, want, wantErr)
		}
		var scanned []string
		if err := (textArray{&scanned}).Scan(c.text); (err == nil) != (wantErr == nil) {
			t.Errorf("%s: Scan error %v, pgtype %v", c.text, err, wantErr)
		} else if err == nil && scanned == nil {
			t.Errorf("%s: Scan gave nil", c.text)
		}
	}
}

// TestRebindNumbersPlaceholders, cached or not.
func TestRebindNumbersPlaceholders(t *testing.T) {
	d := newDialect()
	for range 2 {
		for q, want := range map[string]string{
			`SELECT 1`:                     `SELECT 1`,
			`SELECT ? WHERE a = ? AND b=?`: `SELECT $1 WHERE a = $2 AND b=$3`,
		} {
			if got := d.Rebind(q); got != want {
				t.Errorf("Rebind(%q) = %q, want %q", q, got, want)
			}
		}
	}
}
