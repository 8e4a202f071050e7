package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// exported appends n events of varied actions to stream t1 (and one to
// t2), exports t1 and returns the lines.
func exported(t *testing.T, n int) [][]byte {
	t.Helper()
	ctx := context.Background()
	st := sqlitetest.Open(t)
	actions := []string{audit.ActionSessionLogin, audit.ActionAPIKeyCreate, audit.ActionDecision, audit.ActionTokenExchange}
	var evs []audit.Event
	for i := range n {
		evs = append(evs, audit.Event{TenantID: "t1", Action: actions[i%len(actions)], Outcome: audit.Success,
			ActorID: "user:1", OnBehalfOf: "user:2", CredentialKind: "session", CredentialID: "s1", TargetType: "user", TargetID: "user:1",
			Reason: "<&> \"q\" \x01", ClientIP: "192.0.2.1", UserAgent: "ü/1", RequestID: "r1", TraceID: "tr1",
			Detail: map[string]string{"k": "v\n", "<": ">"}})
	}
	evs = append(evs, audit.Event{TenantID: "t2", Action: audit.ActionDecision, Outcome: audit.Denied})
	if _, err := st.AppendAudit(ctx, evs); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := audit.NewNDJSONWriter(&buf)
	if err := audit.ExportStream(ctx, st, "t1", time.Time{}, time.Time{}, w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
}

func writeLines(t *testing.T, lines [][]byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "export.ndjson")
	if err := os.WriteFile(p, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExportIsOCSF(t *testing.T) {
	lines := exported(t, 4)
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	var login map[string]any
	if err := json.Unmarshal(lines[0], &login); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"class_uid": 3002.0, "category_uid": 3.0, "activity_id": 1.0, "type_uid": 300201.0, "status_id": 1.0}
	for k, v := range want {
		if login[k] != v {
			t.Fatalf("%s = %v, want %v in %s", k, login[k], v, lines[0])
		}
	}
	if login["actor"].(map[string]any)["user"].(map[string]any)["uid"] != "user:1" ||
		login["src_endpoint"].(map[string]any)["ip"] != "192.0.2.1" ||
		login["metadata"].(map[string]any)["sequence"] != 1.0 {
		t.Fatalf("fields of %s", lines[0])
	}
	classes := []int{3002, 3001, 6003, 3002}
	for i, l := range lines {
		var o struct {
			ClassUID int `json:"class_uid"`
		}
		_ = json.Unmarshal(l, &o)
		if o.ClassUID != classes[i] {
			t.Fatalf("line %d class %d, want %d", i+1, o.ClassUID, classes[i])
		}
	}
}

func TestVerifyExport(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		edit func(lines [][]byte) [][]byte
		// kind is the break wanted; "" verifies; code an error instead.
		kind audit.BreakKind
		seq  int64
		code fault.Code
	}{
		{"as exported", func(l [][]byte) [][]byte { return l }, "", 0, ""},
		{"a part of the stream", func(l [][]byte) [][]byte { return l[3:7] }, "", 0, ""},
		{"an edited reason", func(l [][]byte) [][]byte {
			l[4] = bytes.Replace(l[4], []byte(`"reason":"<&>`), []byte(`"reason":"<&!`), 1)
			return l
		}, audit.BreakEdited, 5, ""},
		{"a deleted line", func(l [][]byte) [][]byte { return append(l[:4:4], l[5:]...) }, audit.BreakDeleted, 5, ""},
		{"swapped lines", func(l [][]byte) [][]byte { l[4], l[5] = l[5], l[4]; return l }, audit.BreakDeleted, 5, ""},
		{"a line repeated", func(l [][]byte) [][]byte { return append(l[:5:5], l[4:]...) }, audit.BreakReordered, 5, ""},
		{"not an export", func(l [][]byte) [][]byte { return append(l, []byte(`{"hello":1}`)) }, "", 0, audit.CodeExportInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines := exported(t, 10)
			rep, err := audit.VerifyExport(ctx, writeLines(t, c.edit(lines)), nil)
			if c.code != "" {
				var fe *fault.Error
				if !strings.Contains(errString(err), string(c.code)) && !(asFault(err, &fe) && fe.Code == c.code) {
					t.Fatalf("err %v, want %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.kind == "" && rep.Break != nil:
				t.Fatalf("broken: %s", rep)
			case c.kind != "" && (rep.Break == nil || rep.Break.Kind != c.kind || rep.Break.Seq != c.seq):
				t.Fatalf("report %s, want %s at %d", rep, c.kind, c.seq)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func asFault(err error, fe **fault.Error) bool {
	f, ok := err.(*fault.Error)
	*fe = f
	return ok
}
