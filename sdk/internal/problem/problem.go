// Package problem writes the RFC 9457 problem documents the SDK's
// middleware answer with, in the shape of Tollgate's own, so that a client
// of a service reads the same errors as a client of Tollgate.
package problem

import (
	"encoding/json"
	"net/http"
)

// Base prefixes problem "type" URIs, as Tollgate's own do.
const Base = "https://tollgate.dev/problems/"

// Document is a problem document with the extension members the SDK uses.
type Document struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Code     string `json:"code"`
	Instance string `json:"instance,omitempty"`
	// ViolatedPolicies names the exhausted rate limits of a quota-exceeded
	// problem.
	ViolatedPolicies []string `json:"violated-policies,omitempty"`
	// Reasons are a deny's policies: present, if empty, when not nil.
	Reasons    []string `json:"reasons,omitzero"`
	DecisionID string   `json:"decision_id,omitempty"`
}

// Write sends d as the response, filling Type from Code and Title from
// Status when they are empty, and Instance from the request's path.
// Headers set on w before (WWW-Authenticate, Retry-After) are kept.
func Write(w http.ResponseWriter, r *http.Request, d Document) {
	if d.Type == "" {
		d.Type = Base + d.Code
	}
	if d.Title == "" {
		d.Title = http.StatusText(d.Status)
	}
	d.Instance = r.URL.Path
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(d.Status)
	_ = json.NewEncoder(w).Encode(d)
}

// Read extracts the code and a detail from an answer other than 200:
// Tollgate's problem document, an RFC 6749 §5.2 error from its token
// endpoint, or, from something in front of it, anything (the status text
// then stands in for the detail).
func Read(status int, data []byte) (code, detail string) {
	var p struct {
		Title            string `json:"title"`
		Detail           string `json:"detail"`
		Code             string `json:"code"`
		OAuthError       string `json:"error"`
		OAuthDescription string `json:"error_description"`
	}
	_ = json.Unmarshal(data, &p)
	code, detail = p.Code, p.Detail
	if code == "" {
		code = p.OAuthError
	}
	for _, d := range []string{p.OAuthDescription, p.Title, http.StatusText(status)} {
		if detail == "" {
			detail = d
		}
	}
	return code, detail
}
