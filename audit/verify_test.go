package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
	"time"
)

// exported is a Reader over events held in memory, as an NDJSON export
// read back would be: unlike a database it can hold events in any order,
// so it shows the reorder and duplicate checks.
type exported struct {
	events  []Event
	head    Head
	digests []Digest
}

func (x *exported) ReadAudit(_ context.Context, tenantID string, afterSeq int64, limit int) ([]Event, error) {
	// An export is read in file order: afterSeq is where the previous page
	// ended, found by position rather than by value.
	start := 0
	if afterSeq > 0 {
		start = slices.IndexFunc(x.events, func(e Event) bool { return e.Seq == afterSeq }) + 1
	}
	end := min(start+limit, len(x.events))
	return slices.Clone(x.events[start:end]), nil
}

func (x *exported) AuditHead(context.Context, string) (Head, error) { return x.head, nil }

func (x *exported) ListAuditDigests(_ context.Context, _ string, afterSeq int64, _ int) ([]Digest, error) {
	var out []Digest
	for _, d := range x.digests {
		if d.ThroughSeq > afterSeq {
			out = append(out, d)
		}
	}
	return out, nil
}

type keySigner struct {
	id   string
	priv ed25519.PrivateKey
}

func (k keySigner) SignMessage(build func(string) []byte) (string, []byte, error) {
	return k.id, ed25519.Sign(k.priv, build(k.id)), nil
}

func chain(n int) (*exported, Keys) {
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = sample()
		evs[i].Time = evs[i].Time.Add(time.Duration(i) * time.Millisecond)
	}
	head := Link(Head{TenantID: "t1"}, evs)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	x := &exported{events: evs, head: head}
	d := &Digester{signer: keySigner{"k1", priv}, now: time.Now}
	for _, through := range []int{3, n} {
		dg, err := d.build(Head{TenantID: "t1", Seq: int64(through), Hash: evs[through-1].Hash}, DigestHead)
		if err != nil {
			panic(err)
		}
		x.digests = append(x.digests, dg)
	}
	return x, Keys{"k1": pub}
}

func TestVerifyExport(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(x *exported)
		from   int64
		seq    int64
		kind   BreakKind // "" = verifies
	}{
		{"intact", func(*exported) {}, 0, 0, ""},
		{"intact from 4", func(*exported) {}, 4, 0, ""},
		{"edited", func(x *exported) { x.events[4].ActorID = "user:evil" }, 0, 5, BreakEdited},
		{"edited before from", func(x *exported) { x.events[1].ActorID = "user:evil" }, 4, 0, ""},
		{"duplicate", func(x *exported) { x.events = slices.Insert(x.events, 5, x.events[4]) }, 0, 5, BreakReordered},
		{"reordered", func(x *exported) { x.events[4], x.events[5] = x.events[5], x.events[4] }, 0, 5, BreakDeleted},
		{"goes back", func(x *exported) { x.events = slices.Insert(x.events, 6, x.events[2]) }, 0, 3, BreakReordered},
		{"deleted", func(x *exported) { x.events = slices.Delete(x.events, 5, 6) }, 0, 6, BreakDeleted},
		{"deleted first", func(x *exported) { x.events = x.events[1:] }, 0, 1, BreakDeleted},
		{"prev replaced", func(x *exported) { x.events[6].PrevHash = x.events[4].Hash }, 0, 7, BreakPrevMismatch},
		{"tail cut", func(x *exported) { x.events = x.events[:8] }, 0, 9, BreakDeleted},
		{"tail cut, head moved", func(x *exported) {
			x.events = x.events[:8]
			x.head = Head{TenantID: "t1", Seq: 8, Hash: x.events[7].Hash}
		}, 0, 9, BreakDeleted},
		{"head hash", func(x *exported) { x.head.Hash = x.events[3].Hash }, 0, 10, BreakHeadMismatch},
		{"digest signature", func(x *exported) { x.digests[0].Signature[3] ^= 0x40 }, 0, 3, BreakDigest},
		{"digest key unknown", func(x *exported) { x.digests[1].KeyID = "k9" }, 0, 10, BreakDigest},
		{"digest head", func(x *exported) { x.digests[0].HeadHash = x.events[1].Hash }, 0, 3, BreakDigest},
		{"digest time", func(x *exported) { x.digests[0].Time = x.digests[0].Time.Add(time.Hour) }, 0, 3, BreakDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, keys := chain(10)
			tc.tamper(x)
			r, err := Verify(t.Context(), x, "t1", VerifyOptions{From: tc.from, PageSize: 3, Keys: keys})
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind == "" {
				if r.Break != nil {
					t.Fatalf("verify: %s", r)
				}
				return
			}
			if r.Break == nil || r.Break.Seq != tc.seq || r.Break.Kind != tc.kind {
				t.Fatalf("verify: %s; want a break at seq %d: %s", r, tc.seq, tc.kind)
			}
		})
	}
}
