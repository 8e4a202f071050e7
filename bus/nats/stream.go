package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamSpec describes a JetStream stream Tollgate creates when it is
// missing: audit forwarding's and usage ingestion's. (The bus itself uses
// no stream, see the package comment.)
type StreamSpec struct {
	Name        string
	Description string
	// Subjects is the one subject filter the stream must capture.
	Subjects        string
	MaxAge          time.Duration
	DuplicateWindow time.Duration
}

// EnsureStream returns the stream spec names, creating it when missing
// with limits retention on file, discarding the oldest messages. Another
// replica may create it at the same moment; then the one it made is used.
// An existing stream must capture spec.Subjects, or publishes would find
// no stream; its limits are the operator's to tune and are kept, so the
// caller may compare them with spec.
func EnsureStream(ctx context.Context, js jetstream.JetStream, spec StreamSpec) (jetstream.Stream, error) {
	st, err := js.Stream(ctx, spec.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name: spec.Name, Description: spec.Description,
			Subjects: []string{spec.Subjects}, Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage,
			MaxAge: spec.MaxAge, Duplicates: spec.DuplicateWindow, Discard: jetstream.DiscardOld,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = js.Stream(ctx, spec.Name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", spec.Name, err)
	}
	if cfg := st.CachedInfo().Config; !slices.Contains(cfg.Subjects, spec.Subjects) {
		return nil, fmt.Errorf("stream %s exists and does not capture %q (its subjects: %v)", spec.Name, spec.Subjects, cfg.Subjects)
	}
	return st, nil
}
