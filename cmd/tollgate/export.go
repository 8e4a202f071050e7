package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// The offline exports (audit export, usage report) read the same flags.

// parseTimeFlags parses the RFC 3339 times of --from and --to into from
// and to, each left zero when its flag is empty.
func parseTimeFlags(fromS, toS string, from, to *time.Time) error {
	for _, t := range []struct {
		name, v string
		p       *time.Time
	}{{"--from", fromS, from}, {"--to", toS, to}} {
		if t.v == "" {
			continue
		}
		var err error
		if *t.p, err = time.Parse(time.RFC3339Nano, t.v); err != nil {
			return fmt.Errorf("%s must be an RFC 3339 time, e.g. 2025-03-01T00:00:00Z", t.name)
		}
	}
	return nil
}

// exportOutput is where an export is written: standard output, or the
// file --out names, created readable by its owner alone (an export holds
// personal data). done closes the file.
func exportOutput(env *environment, out string) (w io.Writer, done func(), err error) {
	if out == "" {
		return env.stdout, func() {}, nil
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { _ = f.Close() }, nil
}
