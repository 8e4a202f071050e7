package audit

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
)

// OCSF classes an event maps to (schema 1.x; docs/audit.md has the table).
const (
	OCSFAccountChange  = 3001
	OCSFAuthentication = 3002
	OCSFAPIActivity    = 6003
	ocsfVersion        = "1.3.0"
)

// ocsfClass names a class and its category.
type ocsfClass struct {
	uid           int
	name          string
	categoryUID   int
	categoryName  string
	activity      func(verb string) (int, string)
	subjectIsUser bool
}

var (
	classAuthentication = ocsfClass{OCSFAuthentication, "Authentication", 3, "Identity & Access Management", authActivity, true}
	classAccountChange  = ocsfClass{OCSFAccountChange, "Account Change", 3, "Identity & Access Management", accountActivity, true}
	classAPIActivity    = ocsfClass{OCSFAPIActivity, "API Activity", 6, "Application Activity", apiActivity, false}
)

// OCSFClass returns the class uid of an action: Authentication for
// session.* and token.*, Account Change for password, apikey,
// service_secret, member, role and user, API Activity for the rest.
func OCSFClass(action string) int { return classOf(action).uid }

func classOf(action string) ocsfClass {
	obj, _, _ := strings.Cut(action, ".")
	switch obj {
	case "session", "token":
		return classAuthentication
	case "password", "apikey", "service_secret", "member", "role", "user", "mfa":
		return classAccountChange
	}
	return classAPIActivity
}

// authActivity: 1 Logon, 2 Logoff, 3 Authentication Ticket, 7 Account
// Switch, 99 Other.
func authActivity(verb string) (int, string) {
	switch verb {
	case "login", "client_credentials":
		return 1, "Logon"
	case "logout", "revoke":
		return 2, "Logoff"
	case "refresh", "exchange":
		return 3, "Authentication Ticket"
	case "switch_tenant":
		return 7, "Account Switch"
	}
	return 99, "Other"
}

// accountActivity: 1 Create, 3 Password Change, 6 Delete, 7 Attach
// Policy, 8 Detach Policy, 99 Other.
func accountActivity(verb string) (int, string) {
	switch verb {
	case "create":
		return 1, "Create"
	case "change":
		return 3, "Password Change"
	case "revoke", "delete":
		return 6, "Delete"
	case "add":
		return 7, "Attach Policy"
	case "remove":
		return 8, "Detach Policy"
	}
	return 99, "Other"
}

// apiActivity: 1 Create, 2 Read, 3 Update, 4 Delete, 99 Other.
func apiActivity(verb string) (int, string) {
	switch verb {
	case "create":
		return 1, "Create"
	case "update", "put", "suspend", "activate", "plan_change", "deletion_scheduled", "deletion_cancelled":
		return 3, "Update"
	case "delete", "deleted":
		return 4, "Delete"
	}
	return 99, "Other"
}

type ocsfUser struct {
	UID string `json:"uid"`
}

type ocsfActor struct {
	User      *ocsfUser `json:"user,omitempty"`
	Session   *ocsfUser `json:"session,omitempty"`
	InvokedBy string    `json:"invoked_by,omitempty"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
}

type ocsfMetadata struct {
	UID            string      `json:"uid"`
	Version        string      `json:"version"`
	Product        ocsfProduct `json:"product"`
	LogName        string      `json:"log_name"`
	TenantUID      string      `json:"tenant_uid,omitempty"`
	CorrelationUID string      `json:"correlation_uid,omitempty"`
	Sequence       int64       `json:"sequence"`
}

type ocsfResource struct {
	Type string `json:"type,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// chainFields carry an event exactly, for offline verification: the
// canonical form the hash covers, its seq and its links.
type chainFields struct {
	Seq      int64           `json:"seq"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
	Event    json.RawMessage `json:"event"`
}

type ocsfUnmapped struct {
	Tollgate       chainFields `json:"tollgate"`
	TraceID        string      `json:"trace_id,omitempty"`
	CredentialKind string      `json:"credential_kind,omitempty"`
	CredentialID   string      `json:"credential_id,omitempty"`
	Outcome        Outcome     `json:"outcome"`
	Detail         Detail      `json:"detail,omitempty"`
}

// Detail is an event's detail, as exported.
type Detail = map[string]string

type ocsfEvent struct {
	ClassUID     int       `json:"class_uid"`
	ClassName    string    `json:"class_name"`
	CategoryUID  int       `json:"category_uid"`
	CategoryName string    `json:"category_name"`
	ActivityID   int       `json:"activity_id"`
	ActivityName string    `json:"activity_name"`
	TypeUID      int       `json:"type_uid"`
	Time         int64     `json:"time"`
	SeverityID   int       `json:"severity_id"`
	Severity     string    `json:"severity"`
	StatusID     int       `json:"status_id"`
	Status       string    `json:"status"`
	StatusDetail string    `json:"status_detail,omitempty"`
	Message      string    `json:"message"`
	Actor        ocsfActor `json:"actor"`
	User         *ocsfUser `json:"user,omitempty"`
	API          *struct {
		Operation string `json:"operation"`
	} `json:"api,omitempty"`
	Resources   []ocsfResource `json:"resources,omitempty"`
	SrcEndpoint *struct {
		IP string `json:"ip"`
	} `json:"src_endpoint,omitempty"`
	HTTPRequest *struct {
		UserAgent string `json:"user_agent"`
	} `json:"http_request,omitempty"`
	Metadata ocsfMetadata `json:"metadata"`
	Unmapped ocsfUnmapped `json:"unmapped"`
}

// OCSF returns e as an OCSF event object (see docs/audit.md for the
// mapping), carrying under unmapped.tollgate its canonical form, seq,
// prev_hash and hash, so that an export can be verified offline.
func toOCSF(e *Event) ocsfEvent {
	c := classOf(e.Action)
	_, verb, _ := strings.Cut(e.Action, ".")
	aid, aname := c.activity(verb)
	o := ocsfEvent{
		ClassUID: c.uid, ClassName: c.name, CategoryUID: c.categoryUID, CategoryName: c.categoryName,
		ActivityID: aid, ActivityName: aname, TypeUID: c.uid*100 + aid,
		Time: e.Time.UnixMilli(), SeverityID: 1, Severity: "Informational",
		StatusID: 1, Status: "Success", StatusDetail: e.Reason, Message: e.Action,
		Metadata: ocsfMetadata{UID: e.ID, Version: ocsfVersion, Product: ocsfProduct{Name: "Tollgate", VendorName: "Tollgate"},
			LogName: "audit", TenantUID: e.TenantID, CorrelationUID: e.RequestID, Sequence: e.Seq},
		Unmapped: ocsfUnmapped{
			Tollgate: chainFields{Seq: e.Seq, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
				Event: Canonical(e)},
			TraceID: e.TraceID, CredentialKind: e.CredentialKind, CredentialID: e.CredentialID, Outcome: e.Outcome, Detail: e.Detail,
		},
	}
	if e.Outcome != Success {
		o.StatusID, o.Status = 2, "Failure"
	}
	if e.ActorID != "" {
		o.Actor.User = &ocsfUser{UID: e.ActorID}
	}
	if e.CredentialKind == "session" && e.CredentialID != "" {
		o.Actor.Session = &ocsfUser{UID: e.CredentialID}
	}
	o.Actor.InvokedBy = e.OnBehalfOf
	if c.subjectIsUser {
		// The account signed in or changed: the target, else the actor.
		if uid := e.TargetID; uid != "" {
			o.User = &ocsfUser{UID: uid}
		} else if e.ActorID != "" {
			o.User = &ocsfUser{UID: e.ActorID}
		}
	} else {
		o.API = &struct {
			Operation string `json:"operation"`
		}{e.Action}
	}
	if e.TargetType != "" || e.TargetID != "" {
		o.Resources = []ocsfResource{{Type: e.TargetType, UID: e.TargetID}}
	}
	if e.ClientIP != "" {
		o.SrcEndpoint = &struct {
			IP string `json:"ip"`
		}{e.ClientIP}
	}
	if e.UserAgent != "" {
		o.HTTPRequest = &struct {
			UserAgent string `json:"user_agent"`
		}{e.UserAgent}
	}
	return o
}

// NDJSONWriter writes events as OCSF NDJSON, one object per line.
type NDJSONWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
}

// NewNDJSONWriter writes to w; Flush when done.
func NewNDJSONWriter(w io.Writer) *NDJSONWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	// The canonical form keeps <, > and & as they are; so must the copy.
	enc.SetEscapeHTML(false)
	return &NDJSONWriter{w: bw, enc: enc}
}

// Write writes one event line.
func (n *NDJSONWriter) Write(e *Event) error { return n.enc.Encode(toOCSF(e)) }

// Flush writes what is buffered.
func (n *NDJSONWriter) Flush() error { return n.w.Flush() }

// canonicalEvent decodes a canonical form back into an Event.
type canonicalEvent struct {
	V              int               `json:"v"`
	Tenant         string            `json:"tenant"`
	Seq            int64             `json:"seq"`
	ID             string            `json:"id"`
	Time           int64             `json:"time"`
	ActorID        string            `json:"actor_id"`
	OnBehalfOf     string            `json:"on_behalf_of"`
	CredentialKind string            `json:"credential_kind"`
	CredentialID   string            `json:"credential_id"`
	Action         string            `json:"action"`
	TargetType     string            `json:"target_type"`
	TargetID       string            `json:"target_id"`
	Outcome        Outcome           `json:"outcome"`
	Reason         string            `json:"reason"`
	ClientIP       string            `json:"client_ip"`
	UserAgent      string            `json:"user_agent"`
	RequestID      string            `json:"request_id"`
	TraceID        string            `json:"trace_id"`
	Detail         map[string]string `json:"detail"`
}

// event is the Event the canonical form describes, without its links.
func (c canonicalEvent) event() Event {
	return Event{
		ID: c.ID, Time: microTime(c.Time), TenantID: c.Tenant, ActorID: c.ActorID, OnBehalfOf: c.OnBehalfOf,
		CredentialKind: c.CredentialKind, CredentialID: c.CredentialID, Action: c.Action, TargetType: c.TargetType,
		TargetID: c.TargetID, Outcome: c.Outcome, Reason: c.Reason, ClientIP: c.ClientIP, UserAgent: c.UserAgent,
		RequestID: c.RequestID, TraceID: c.TraceID, Detail: c.Detail, Seq: c.Seq,
	}
}

// exportLine is what verification reads of a line.
type exportLine struct {
	Unmapped struct {
		Tollgate chainFields `json:"tollgate"`
	} `json:"unmapped"`
}

// parseExportLine decodes one line of an export into its event.
func parseExportLine(line []byte) (Event, error) {
	var l exportLine
	if err := json.Unmarshal(line, &l); err != nil {
		return Event{}, err
	}
	var c canonicalEvent
	d := json.NewDecoder(bytes.NewReader(l.Unmapped.Tollgate.Event))
	d.UseNumber()
	if err := d.Decode(&c); err != nil {
		return Event{}, err
	}
	prev, err := hex.DecodeString(l.Unmapped.Tollgate.PrevHash)
	if err != nil {
		return Event{}, err
	}
	hash, err := hex.DecodeString(l.Unmapped.Tollgate.Hash)
	if err != nil {
		return Event{}, err
	}
	// The canonical form's seq is the one the hash covers; the outer copy
	// is for readers.
	e := c.event()
	e.PrevHash, e.Hash = prev, hash
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	return e, nil
}
