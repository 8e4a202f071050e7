package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// exportWriteTimeout is how long an export may go without moving its
// write deadline on, and how long one write of a live stream may take,
// before the client counts as gone: the server's WriteTimeout bounds a
// whole request, and an export of a year, or a stream, lasts longer.
const exportWriteTimeout = 30 * time.Second

// exportStream writes a streamed export (usage, audit): everything is
// checked before the first byte; the status and headers go with the first
// row; the write deadline moves on as rows go out; and a failure after
// the first byte can only cut the response, which the client sees as a
// broken transfer.
type exportStream struct {
	w           http.ResponseWriter
	rc          *http.ResponseController
	contentType string
	started     bool
	moved       time.Time
}

func newExportStream(w http.ResponseWriter, contentType string) *exportStream {
	return &exportStream{w: w, rc: http.NewResponseController(w), contentType: contentType}
}

func (x *exportStream) start() {
	x.started = true
	x.w.Header().Set("Content-Type", x.contentType)
	x.w.Header().Set("Cache-Control", "no-store")
	x.w.WriteHeader(http.StatusOK)
	// A long export must not be cut by the server's read timeout, which
	// would cancel the request; the client's going still does.
	_ = x.rc.SetReadDeadline(time.Time{})
}

// row is called before each row is written.
func (x *exportStream) row() {
	if !x.started {
		x.start()
	}
	// Moved at most once a second: a deadline is a system call.
	if now := time.Now(); now.Sub(x.moved) >= time.Second {
		x.moved = now
		_ = x.rc.SetWriteDeadline(now.Add(exportWriteTimeout))
	}
}

// finish ends the export with err, the export's outcome: before the
// first row it is the answer; after it, the response is cut.
func (x *exportStream) finish(ctx context.Context, log *slog.Logger, err error, flush func() error) error {
	if err == nil {
		if !x.started {
			x.start()
		}
		return flush()
	}
	if !x.started {
		return err
	}
	log.ErrorContext(ctx, "export failed mid-stream; cutting the response", "err", err)
	panic(http.ErrAbortHandler)
}
