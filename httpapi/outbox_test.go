package httpapi_test

import (
	"context"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/token"
)

// listMail lists the outbox with each body opened, as the mail worker
// opens it: bodies wait there sealed with the server's master key.
func (ts *testServer) listMail(ctx context.Context, p cursor.Page) ([]mail.Message, error) {
	msgs, err := ts.store.ListMail(ctx, p)
	if err != nil {
		return nil, err
	}
	sealer, err := token.NewSealer(ts.masterKey)
	if err != nil {
		return nil, err
	}
	for i, m := range msgs {
		if len(m.Sealed) == 0 && m.Status == mail.StatusPending {
			ts.t.Errorf("a pending message holds its body in the clear: %+v", m)
		}
		if msgs[i], err = mail.Open(sealer, m); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}
