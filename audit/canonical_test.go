package audit

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

func sample() Event {
	return Event{
		ID: "01jq4w8x3v0000000000000000", Time: time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
		TenantID: "t1", ActorID: "agent:7f3a", OnBehalfOf: "user:93", CredentialKind: "api_key", CredentialID: "k1",
		Action: ActionAPIKeyRotate, TargetType: "api_key", TargetID: "k1", Outcome: Success,
		Reason: "rotation \"scheduled\"\n", ClientIP: "2001:db8::1", UserAgent: "curl/8 <&> \\ é", RequestID: "r1", TraceID: "tr1",
		Detail: map[string]string{"z": "last", "a": "first", "é": "\x1f"},
		Seq:    42,
	}
}

// TestCanonicalGolden pins the canonical form: changing it silently would
// break every stored chain.
func TestCanonicalGolden(t *testing.T) {
	e := sample()
	want := `{"v":1,"tenant":"t1","seq":42,"id":"01jq4w8x3v0000000000000000","time":1741964966535897,` +
		`"actor_id":"agent:7f3a","on_behalf_of":"user:93","credential_kind":"api_key","credential_id":"k1",` +
		`"action":"apikey.rotate","target_type":"api_key","target_id":"k1","outcome":"success",` +
		`"reason":"rotation \"scheduled\"\u000a","client_ip":"2001:db8::1","user_agent":"curl/8 <&> \\ é",` +
		`"request_id":"r1","trace_id":"tr1","detail":{"a":"first","z":"last","é":"\u001f"}}`
	if got := string(Canonical(&e)); got != want {
		t.Fatalf("canonical form\n got %s\nwant %s", got, want)
	}
	sum, _ := HashEvent(Genesis(), &e, nil)
	// Change only together with canonicalVersion.
	const wantHash = "d81b7e403e59f6b922041ffbd93b10f3d6b3b9732652e3898912c65aaf382ced"
	if got := hex.EncodeToString(sum[:]); got != wantHash {
		t.Errorf("hash of the sample after genesis = %s, want %s", got, wantHash)
	}
}

// TestCanonicalCoversEveryField changes each field in turn: each change
// must change the canonical form, so that no edit goes unhashed.
func TestCanonicalCoversEveryField(t *testing.T) {
	base := sample()
	orig := string(Canonical(&base))
	edits := map[string]func(e *Event){
		"id":      func(e *Event) { e.ID = "01jq4w8x3v0000000000000001" },
		"time":    func(e *Event) { e.Time = e.Time.Add(time.Microsecond) },
		"tenant":  func(e *Event) { e.TenantID = "t2" },
		"seq":     func(e *Event) { e.Seq++ },
		"outcome": func(e *Event) { e.Outcome = Denied },
		"detail":  func(e *Event) { e.Detail = map[string]string{"a": "first", "z": "last"} },
		"detail value": func(e *Event) {
			e.Detail = map[string]string{"a": "first", "z": "last", "é": "\x1e"}
		},
	}
	for _, f := range fields {
		edits[f.name] = func(e *Event) { setField(e, f.name, f.get(e)+"x") }
	}
	for name, edit := range edits {
		e := sample()
		e.Detail = map[string]string{"z": "last", "a": "first", "é": "\x1f"}
		edit(&e)
		if string(Canonical(&e)) == orig {
			t.Errorf("changing %s does not change the canonical form", name)
		}
	}
}

// setField sets the string field named as in fields.
func setField(e *Event, name, v string) {
	ptrs := map[string]*string{
		"tenant_id": &e.TenantID, "actor_id": &e.ActorID, "on_behalf_of": &e.OnBehalfOf,
		"credential_kind": &e.CredentialKind, "credential_id": &e.CredentialID, "action": &e.Action,
		"target_type": &e.TargetType, "target_id": &e.TargetID, "reason": &e.Reason, "client_ip": &e.ClientIP,
		"user_agent": &e.UserAgent, "request_id": &e.RequestID, "trace_id": &e.TraceID,
	}
	*ptrs[name] = v
}

// TestCanonicalIsJSON decodes the canonical form with encoding/json and
// gets the event back.
func TestCanonicalIsJSON(t *testing.T) {
	e := sample()
	got := decodeCanonical(t, Canonical(&e))
	if want := string(Canonical(&e)); string(Canonical(&got)) != want {
		t.Fatalf("round trip:\n got %s\nwant %s", Canonical(&got), want)
	}
}

func decodeCanonical(t testing.TB, b []byte) Event {
	t.Helper()
	var c canonicalEvent
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("canonical form is not JSON: %v\n%s", err, b)
	}
	if c.V != canonicalVersion {
		t.Fatalf("version %d", c.V)
	}
	return c.event()
}

func TestLinkChains(t *testing.T) {
	evs := []Event{sample(), sample(), sample()}
	head := Link(Head{TenantID: "t1"}, evs)
	if head.Seq != 3 || string(head.Hash) != string(evs[2].Hash) {
		t.Fatalf("head %+v", head)
	}
	if string(evs[0].PrevHash) != string(Genesis()) || string(evs[1].PrevHash) != string(evs[0].Hash) {
		t.Fatal("links")
	}
	// Genesis is not shared: changing an event's PrevHash changes no other.
	evs[0].PrevHash[0] = 1
	if Genesis()[0] != 0 {
		t.Fatal("Genesis was modified through an event")
	}
	more := []Event{sample()}
	Link(head, more)
	if more[0].Seq != 4 || string(more[0].PrevHash) != string(head.Hash) {
		t.Fatalf("continued: %+v", more[0])
	}
}

// TestLinkSubsetLinksOneStreamInPlace: linking each stream of a mixed
// batch through its indexes gives every event what linking that stream's
// events alone gives them, and leaves the other streams' events untouched.
func TestLinkSubsetLinksOneStreamInPlace(t *testing.T) {
	mixed := make([]Event, 7)
	for i := range mixed {
		mixed[i] = sample()
		mixed[i].Seq, mixed[i].Reason = 0, fmt.Sprint("event ", i)
		mixed[i].TenantID = []string{"t1", "t2"}[i%3%2]
	}
	details := make([][]byte, len(mixed))
	for i := range mixed {
		details[i] = CanonicalDetail(mixed[i].Detail)
	}
	for _, tenant := range []string{"t1", "t2"} {
		var idx []int
		var alone []Event
		for i, e := range mixed {
			if e.TenantID == tenant {
				idx = append(idx, i)
				alone = append(alone, e)
			}
		}
		start := Head{TenantID: tenant, Seq: 10, Hash: Genesis()}
		want := Link(start, alone)
		got := LinkSubset(start, mixed, idx, details)
		if got.Seq != want.Seq || string(got.Hash) != string(want.Hash) {
			t.Fatalf("%s: head %d %x, linked alone %d %x", tenant, got.Seq, got.Hash, want.Seq, want.Hash)
		}
		for j, i := range idx {
			if mixed[i].Seq != alone[j].Seq || string(mixed[i].Hash) != string(alone[j].Hash) || string(mixed[i].PrevHash) != string(alone[j].PrevHash) {
				t.Fatalf("%s: event %d linked as seq %d, alone as %d", tenant, i, mixed[i].Seq, alone[j].Seq)
			}
		}
	}
	for i, e := range mixed {
		if e.Seq == 0 || len(e.Hash) != HashSize {
			t.Fatalf("event %d was not linked", i)
		}
	}
}

func TestParseDetail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{`{}`, nil, false},
		{`{"a":"b"}`, map[string]string{"a": "b"}, false},
		{`{"a":"\"\\\u001f\u0000x","é":""}`, map[string]string{"a": "\"\\\x1f\x00x", "é": ""}, false},
		// Not canonical, still JSON: decoded the slow way.
		{`{ "a" : "\n\u00e9" }`, map[string]string{"a": "\né"}, false},
		{`{"a":1}`, nil, true},
		{`{"a":"b",}`, nil, true},
		{`[]`, nil, true},
		{``, nil, true},
	} {
		got, err := ParseDetail([]byte(tc.in))
		if (err != nil) != tc.err || !maps.Equal(got, tc.want) {
			t.Errorf("ParseDetail(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestDetailSize(t *testing.T) {
	for _, d := range []map[string]string{
		nil,
		{},
		{"k": "v"},
		{"a": "1", "b": "2", "c": ""},
		{"quote": `say "hi"\`, "ctl": "\x00\x1f\n", "utf8": "é\u2028"},
	} {
		if got, want := DetailSize(d), len(CanonicalDetail(d)); got != want {
			t.Errorf("DetailSize(%q) = %d, want %d", d, got, want)
		}
	}
}
