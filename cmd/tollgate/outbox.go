package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/mail"
)

// runOutbox prints the newest email of the outbox, newest first, with the
// text of each message the outbox still holds: with no smtp_url that is
// every message, and this is how a developer follows an invitation or a
// reset link.
func runOutbox(ctx context.Context, env *environment, args []string) error {
	var limit int
	spec := adminSpec{
		name: "outbox", usage: "[--limit N] [flags]",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&limit, "limit", 10, "how many messages to show, newest first (1 to 200)")
		},
		check: func() error {
			if limit < 1 || limit > cursor.MaxLimit {
				return errors.New("--limit must be between 1 and 200")
			}
			return nil
		},
	}
	return runAdmin(ctx, env, args, spec, func(ctx context.Context, a *adminSession) error {
		msgs, err := a.store.ListMail(ctx, cursor.Page{Limit: limit})
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			fmt.Fprintln(env.stdout, "the outbox is empty")
			return nil
		}
		// Bodies wait sealed with the master key; without it they stay
		// sealed, and the rest of each message still shows.
		var sealer mail.Sealer
		if s, err := existingSealer(a.cfg); err != nil {
			return err
		} else if s != nil {
			sealer = s
		}
		for _, m := range msgs {
			opened, openErr := mail.Open(sealer, m)
			if openErr == nil {
				m = opened
			}
			fmt.Fprintf(env.stdout, "%s  %s  %s  attempts %d  to %s\nSubject: %s\n", m.ID, m.Status,
				m.CreatedAt.Format(time.RFC3339), m.Attempts, m.To, m.Subject)
			if m.LastError != "" {
				fmt.Fprintf(env.stdout, "Last error: %s\n", m.LastError)
			}
			switch {
			case openErr != nil:
				fmt.Fprintf(env.stdout, "(the body is sealed and does not open: %v)\n", openErr)
			case m.Text == "":
				fmt.Fprintln(env.stdout, "(delivered over SMTP; the body is no longer kept)")
			default:
				fmt.Fprintf(env.stdout, "\n%s\n", strings.TrimRight(m.Text, "\n"))
			}
			fmt.Fprintln(env.stdout, "----")
		}
		return nil
	})
}
