package postgres

import (
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestTextArrayScan: database/sql's text form of a text[] reads back as
// pgtype reads it, and never as nil.
func TestTextArrayScan(t *testing.T) {
	for _, text := range []string{
		`{}`, `{owner}`, `{owner,admin,member}`, `{"a b",c}`, `{"a,b"}`, `{a\,b}`, `{"",x}`, `{ a , b }`,
		`{NULL}`, `{{a},{b}}`,
	} {
		var want []string
		wantErr := pgtype.NewMap().Scan(pgtype.TextArrayOID, pgtype.TextFormatCode, []byte(text), &want)
		var got []string
		err := textArray{&got}.Scan(text)
		switch {
		case (err == nil) != (wantErr == nil):
			t.Errorf("%s: Scan error %v, pgtype %v", text, err, wantErr)
		case err == nil && (got == nil || !reflect.DeepEqual(got, append([]string{}, want...))):
			t.Errorf("%s: Scan gave %#v, pgtype %#v", text, got, want)
		}
	}
}

// TestRebindNumbersPlaceholders, cached or not.
func TestRebindNumbersPlaceholders(t *testing.T) {
	d := newDialect(nil)
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
