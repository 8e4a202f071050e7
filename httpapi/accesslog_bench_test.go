package httpapi_test

import (
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/httpapi"
)

// BenchmarkAuthorizeAccessLog measures what the access log costs POST
// /v1/authorize in process (SQLite, nine permits to one deny, decision
// auditing off so that only the log differs): logging at warn, which
// writes no access line; at info writing every request's line; and at info
// writing the default sample. Lines go as JSON to /dev/null through a
// file, as a server's standard output would, write system calls included.
// It reports CPU time per request besides wall time.
func BenchmarkAuthorizeAccessLog(b *testing.B) {
	def := config.Defaults().AccessLogPercent
	for _, c := range []struct {
		name    string
		level   slog.Level
		percent int
	}{
		{"log=warn", slog.LevelWarn, def},
		{"log=info,percent=100", slog.LevelInfo, 100},
		{"log=info,percent=" + strconv.Itoa(def), slog.LevelInfo, def},
	} {
		b.Run(c.name, func(b *testing.B) {
			null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = null.Close() })
			cfg := testConfig(b)
			cfg.AuditDecisions = false
			cfg.AccessLogPercent = c.percent
			log := slog.New(httpapi.LogHandler{Handler: slog.NewJSONHandler(null, &slog.HandlerOptions{Level: c.level})})
			run := newAuthorizeBench(b, cfg, log).run
			cpu0 := cpuTime()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if code := run(i); code != http.StatusOK {
						b.Errorf("status %d", code)
						return
					}
					i++
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
