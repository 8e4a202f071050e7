package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/tollgate/tollgate/fault"
)

// BreakKind says what is wrong at a broken link.
type BreakKind string

const (
	// BreakEdited: the event's hash does not match its content (a field
	// was changed).
	BreakEdited BreakKind = "edited"
	// BreakDeleted: a Seq is missing (an event was deleted, or the tail
	// was cut off below the head or a digest).
	BreakDeleted BreakKind = "deleted"
	// BreakReordered: a Seq repeats or goes back (only a reader that is
	// not the database, such as an export, can show this).
	BreakReordered BreakKind = "reordered"
	// BreakPrevMismatch: the event's PrevHash is not its predecessor's
	// hash: an event was inserted, moved or replaced whole.
	BreakPrevMismatch BreakKind = "prev_mismatch"
	// BreakHeadMismatch: the stream's head row disagrees with its last
	// event, or an event lies beyond the head (appended outside Tollgate).
	BreakHeadMismatch BreakKind = "head_mismatch"
	// BreakDigest: a digest's head hash does not match the chain, its key
	// is unknown, or its signature does not verify.
	BreakDigest BreakKind = "digest_invalid"
)

// Break is the first broken link of a stream.
type Break struct {
	Seq    int64
	Kind   BreakKind
	Detail string
}

// Report is the outcome of verifying one stream.
type Report struct {
	TenantID string
	// From is the first Seq verified; Through the last one that verified.
	From, Through int64
	Events        int64
	// Digests counts the digests that verified; Anchored is the seq the
	// last of them covers: the chain through it is as signed.
	Digests  int
	Anchored int64
	// Pruned is the seq through which retention deleted the stream's
	// events; the chain verified from the signed anchor it left.
	Pruned int64
	// Break is the first broken link; nil when the stream verified.
	Break *Break
}

// Err is nil for a stream that verified, and otherwise a fault
// audit_chain_broken naming the stream and its first broken link.
func (r *Report) Err() error {
	if r.Break == nil {
		return nil
	}
	return fault.New(fault.Internal, CodeChainBroken, r.String())
}

// String describes the outcome in one line.
func (r *Report) String() string {
	stream := "platform stream"
	if r.TenantID != "" {
		stream = "tenant " + r.TenantID
	}
	if r.Break == nil {
		out := fmt.Sprintf("%s: ok, %d events (seq %d..%d), %d digests", stream, r.Events, r.From, r.Through, r.Digests)
		if r.Digests > 0 {
			out += fmt.Sprintf(", anchored through seq %d", r.Anchored)
		}
		if r.Pruned > 0 {
			out += fmt.Sprintf(", pruned through seq %d", r.Pruned)
		}
		return out
	}
	return fmt.Sprintf("%s: broken at seq %d: %s: %s", stream, r.Break.Seq, r.Break.Kind, r.Break.Detail)
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// From is the first Seq to verify (default 1). The PrevHash of event
	// From is taken on trust unless a digest through From-1 anchors it;
	// digests through earlier events are skipped. A pruned stream is
	// verified from its prune anchor on.
	From int64
	// PageSize is how many events one read returns (default 5000).
	PageSize int
	// Keys verify the digests; nil fails every digest.
	Keys KeySet
	// ReadAhead is how many pages are read at once (default 1). Above 1,
	// page k is read as "after From-1+k*PageSize", which is right for a
	// Reader that finds afterSeq by value, as the stores do, but not for
	// one that reads a file in order.
	ReadAhead int
}

// page is one read of events.
type page struct {
	events []Event
	err    error
}

// readSequential reads pages one ahead, each after the last of the one
// before, so that hashing a page overlaps reading the next.
func readSequential(ctx context.Context, r Reader, tenantID string, from int64, size int) <-chan page {
	pages := make(chan page, 1)
	go func() {
		defer close(pages)
		after := from - 1
		for {
			evs, err := r.ReadAudit(ctx, tenantID, after, size)
			select {
			case pages <- page{evs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(evs) < size {
				return
			}
			after = evs[len(evs)-1].Seq
		}
	}()
	return pages
}

// readRanges reads the pages up to the head ahead pages at a time, and
// then one event past the head, delivering them in order. Reading is what
// verify spends its time on, and a database serves reads in parallel.
// A gap makes a page reach into the next one's range; the verifier stops
// at the gap, before it could see the overlap.
func readRanges(ctx context.Context, r Reader, tenantID string, from, head int64, size, ahead int) <-chan page {
	n := int64(0)
	if head >= from {
		n = (head - from + int64(size)) / int64(size)
	}
	futures := make(chan chan page, ahead-1)
	go func() {
		defer close(futures)
		for k := int64(0); k <= n; k++ {
			after, limit := from-1+k*int64(size), size
			if k == n {
				after, limit = max(head, from-1), 1
			}
			f := make(chan page, 1)
			select {
			case futures <- f:
			case <-ctx.Done():
				return
			}
			go func() {
				evs, err := r.ReadAudit(ctx, tenantID, after, limit)
				f <- page{evs, err}
			}()
		}
	}()
	pages := make(chan page)
	go func() {
		defer close(pages)
		for f := range futures {
			select {
			case pages <- <-f:
			case <-ctx.Done():
				return
			}
		}
	}()
	return pages
}

// Verify recomputes one stream's chain from r and checks its digests and
// head. It returns an error only when r fails; a broken chain is the
// Report's Break.
//
// The head is read first and the chain verified up to it, so a verify
// running alongside appenders checks a consistent prefix. An event beyond
// that head is a break only if the head, read again, still does not cover
// it: stores advance the head in the same transaction as they insert.
func Verify(ctx context.Context, r Reader, tenantID string, opts VerifyOptions) (*Report, error) {
	from := max(opts.From, 1)
	pageSize := opts.PageSize
	if pageSize <= 0 || pageSize > MaxPage {
		pageSize = 5000
	}
	// Digests first: each was signed over a head that existed before the
	// head read next, so a digest beyond that head means a cut chain, not
	// a race with the digester. The one through from-1, if any, anchors
	// the first event's prev_hash.
	digests, err := readDigests(ctx, r, tenantID, max(from-2, 0))
	if err != nil {
		return nil, err
	}
	// A pruned stream starts after its newest prune anchor: the events
	// through it were deleted by retention, and the digests before it
	// with them.
	if p := lastPrune(digests); p >= 0 && from <= digests[p].ThroughSeq+1 {
		from = digests[p].ThroughSeq + 1
		digests = digests[p:]
	}
	rep := &Report{TenantID: tenantID, From: from, Through: from - 1}
	head, err := r.AuditHead(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	v := verifier{rep: rep, next: from, digests: digests, keys: opts.Keys}
	switch {
	case len(digests) > 0 && digests[0].ThroughSeq == from-1:
		if !v.anchor(&digests[0]) {
			return rep, nil
		}
		v.di = 1
	case from == 1:
		v.prev = Genesis()
	}

	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var pages <-chan page
	if opts.ReadAhead > 1 {
		pages = readRanges(readCtx, r, tenantID, from, head.Seq, pageSize, opts.ReadAhead)
	} else {
		pages = readSequential(readCtx, r, tenantID, from, pageSize)
	}

	var beyond *Event
	for p := range pages {
		if p.err != nil {
			return nil, p.err
		}
		for i := range p.events {
			e := &p.events[i]
			if e.Seq > head.Seq && e.Seq >= v.next {
				beyond = e
				break
			}
			if !v.check(e) {
				return rep, nil
			}
		}
		if beyond != nil {
			break
		}
	}
	cancel()

	last := v.next - 1
	switch {
	case last < head.Seq:
		rep.Break = &Break{Seq: v.next, Kind: BreakDeleted,
			Detail: fmt.Sprintf("the chain ends at seq %d but the head is at seq %d", last, head.Seq)}
		return rep, nil
	case head.Seq >= from && !bytes.Equal(v.prev, head.Hash):
		rep.Break = &Break{Seq: head.Seq, Kind: BreakHeadMismatch, Detail: "the head's hash is not the last event's"}
		return rep, nil
	}
	if beyond != nil {
		// A concurrent append moves the head with its events; an event the
		// head still does not cover was written around the store.
		h2, err := r.AuditHead(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		if h2.Seq < beyond.Seq {
			rep.Break = &Break{Seq: beyond.Seq, Kind: BreakHeadMismatch,
				Detail: fmt.Sprintf("an event lies beyond the head at seq %d", h2.Seq)}
			return rep, nil
		}
	}
	for _, d := range v.digests[v.di:] {
		if d.ThroughSeq <= head.Seq {
			continue // the chain reached the head, so it passed this digest
		}
		rep.Break = &Break{Seq: last + 1, Kind: BreakDeleted,
			Detail: fmt.Sprintf("a digest covers seq %d but the chain ends at seq %d", d.ThroughSeq, last)}
		return rep, nil
	}
	return rep, nil
}

// lastPrune is the index of the newest DigestPrune of ds, or -1.
func lastPrune(ds []Digest) int {
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Kind == DigestPrune {
			return i
		}
	}
	return -1
}

// anchor takes the prev_hash of the first event from d, the digest
// through the seq before it, once d verifies; false means rep.Break is set.
func (v *verifier) anchor(d *Digest) bool {
	if !v.signed(d, d.ThroughSeq+1) {
		return false
	}
	v.prev = slices.Clone(d.HeadHash)
	v.rep.Anchored = d.ThroughSeq
	if d.Kind == DigestPrune {
		v.rep.Pruned = d.ThroughSeq
	}
	return true
}

// readDigests returns the stream's digests after seq, in ThroughSeq order.
func readDigests(ctx context.Context, r Reader, tenantID string, after int64) ([]Digest, error) {
	var out []Digest
	for {
		ds, err := r.ListAuditDigests(ctx, tenantID, after, MaxPage)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
		if len(ds) < MaxPage {
			return out, nil
		}
		after = ds[len(ds)-1].ThroughSeq
	}
}

// verifier walks one stream in Seq order.
type verifier struct {
	rep *Report
	// next is the Seq expected next; prev the hash of next-1 (nil when
	// verifying from a later Seq and nothing is read yet).
	next    int64
	prev    []byte
	digests []Digest
	di      int
	keys    KeySet
	scratch []byte
	sum     [HashSize]byte
}

// check verifies e as the next link; false means rep.Break is set.
func (v *verifier) check(e *Event) bool {
	broke := func(kind BreakKind, format string, args ...any) bool {
		v.rep.Break = &Break{Seq: e.Seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
		return false
	}
	switch {
	case e.Seq < v.next:
		if e.Seq == v.next-1 {
			return broke(BreakReordered, "seq %d appears twice", e.Seq)
		}
		return broke(BreakReordered, "seq %d follows seq %d", e.Seq, v.next-1)
	case e.Seq > v.next:
		v.rep.Break = &Break{Seq: v.next, Kind: BreakDeleted,
			Detail: fmt.Sprintf("seq %d is missing (the next event is seq %d)", v.next, e.Seq)}
		return false
	}
	if v.prev != nil && !bytes.Equal(e.PrevHash, v.prev) {
		return broke(BreakPrevMismatch, "its prev_hash is not the hash of seq %d: an event was inserted, moved or replaced", e.Seq-1)
	}
	v.sum, v.scratch = HashEvent(e.PrevHash, e, v.scratch)
	if !bytes.Equal(v.sum[:], e.Hash) {
		return broke(BreakEdited, "its content does not match its hash: the event was edited")
	}
	v.prev = append(v.prev[:0], v.sum[:]...)
	v.next++
	v.rep.Events++
	v.rep.Through = e.Seq

	for v.di < len(v.digests) && v.digests[v.di].ThroughSeq <= e.Seq {
		d := &v.digests[v.di]
		v.di++
		if d.ThroughSeq < e.Seq {
			continue // before From; cannot be checked here
		}
		if !bytes.Equal(d.HeadHash, v.sum[:]) {
			return broke(BreakDigest, "the digest through seq %d holds another head hash: the chain was rewritten, or the digest forged", d.ThroughSeq)
		}
		if !v.signed(d, e.Seq) {
			return false
		}
		v.rep.Anchored = d.ThroughSeq
	}
	return true
}

// signed checks d's signature; false sets rep.Break at seq.
func (v *verifier) signed(d *Digest, seq int64) bool {
	broke := func(format string, args ...any) bool {
		v.rep.Break = &Break{Seq: seq, Kind: BreakDigest, Detail: fmt.Sprintf(format, args...)}
		return false
	}
	if v.keys == nil {
		return broke("no keys to verify the digest through seq %d", d.ThroughSeq)
	}
	pub, ok := v.keys.DigestKey(d.KeyID)
	if !ok {
		return broke("the digest through seq %d is signed with unknown key %q", d.ThroughSeq, d.KeyID)
	}
	if !ed25519.Verify(pub, DigestMessage(d), d.Signature) {
		return broke("the signature of the digest through seq %d does not verify", d.ThroughSeq)
	}
	v.rep.Digests++
	return true
}
