package mail

import (
	"encoding/json"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// Sealer encrypts message bodies at rest with the installation's master
// key (token.Sealer). A pending message's body holds a single-use link —
// an invitation, a password reset — whose token the store keeps only as a
// hash; sealed, the outbox does not give away what the hash protects.
type Sealer interface {
	Seal(keyID string, plaintext []byte) ([]byte, error)
	Open(keyID string, sealed []byte) ([]byte, error)
}

// body is what a sealed message's Sealed holds.
type body struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

// sealID binds a sealed body to its message: a body copied onto another
// row does not open.
func sealID(id string) string { return "mail:" + id }

// seal moves m's text and HTML into Sealed, giving m its id now, since
// the seal is bound to it.
func seal(s Sealer, m Message) (Message, error) {
	if m.ID == "" {
		m.ID = ids.New()
	}
	b, err := json.Marshal(body{Text: m.Text, HTML: m.HTML})
	if err != nil {
		return Message{}, fault.Wrap(fault.Internal, CodeSealFailed, err)
	}
	if m.Sealed, err = s.Seal(sealID(m.ID), b); err != nil {
		return Message{}, err
	}
	m.Text, m.HTML = "", ""
	return m, nil
}

// Open returns m with its body opened: Text and HTML from Sealed. A
// message without Sealed (written unsealed, or whose body is erased) is
// returned as it is; a sealed one without a Sealer to open it fails.
func Open(s Sealer, m Message) (Message, error) {
	if m.Sealed == nil {
		return m, nil
	}
	if s == nil {
		return Message{}, fault.New(fault.Internal, CodeSealFailed, "the message is sealed and no master key is configured")
	}
	plain, err := s.Open(sealID(m.ID), m.Sealed)
	if err != nil {
		return Message{}, err
	}
	var b body
	if err := json.Unmarshal(plain, &b); err != nil {
		return Message{}, fault.Wrap(fault.Internal, CodeSealFailed, err)
	}
	m.Text, m.HTML, m.Sealed = b.Text, b.HTML, nil
	return m, nil
}
