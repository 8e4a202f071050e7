package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// SecretPrefix starts every signing secret, as the Standard Webhooks
// libraries expect.
const SecretPrefix = "whsec_"

// secretBytes is the length of a new secret's key: within the 24–64 bytes
// the specification recommends.
const secretBytes = 32

// Headers of a delivery (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// NewSecret returns a new signing secret: "whsec_" and the base64 of 32
// random bytes.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24; it crashes instead.
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// SecretKey decodes a secret to the HMAC key it names.
func SecretKey(secret string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(b) == 0 {
		return nil, fault.Invalidf("secret", CodeInvalidWebhookSecret, "a webhook secret is whsec_ and base64")
	}
	return b, nil
}

// Sign returns the webhook-signature header value for a message signed with
// each of keys: "v1,<base64 HMAC-SHA256>" per key, space-separated. The
// signed content is id "." timestamp "." body.
func Sign(keys [][]byte, id string, ts time.Time, body []byte) string {
	var b strings.Builder
	prefix := id + "." + strconv.FormatInt(ts.Unix(), 10) + "."
	for i, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(prefix))
		m.Write(body)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return b.String()
}

// Verify checks a delivery as a receiver would: one of the signatures in
// header must be the HMAC of id, ts and body under key, and ts within
// tolerance of now. The comparison is constant-time.
func Verify(key []byte, id, ts, header string, body []byte, now time.Time, tolerance time.Duration) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return false
	}
	want := Sign([][]byte{key}, id, time.Unix(sec, 0), body)
	ok := false
	for _, sig := range strings.Fields(header) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			ok = true
		}
	}
	return ok
}
