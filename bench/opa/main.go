// Command opa prepares and checks the side-by-side benchmark of Tollgate
// and Open Policy Agent that bench/run-opa.sh runs (issue 16, section 5):
//
//	opa load  -dir DIR -url TOLLGATE -tollgate BIN -email E -password P
//	opa check -dir DIR -url TOLLGATE -opa OPA_DECISION_URL
//
// load generates the workload (100 tenants, 10,000 users, 1,000 channels
// with visibility and members, 10,000 channel requests; the same seed, the
// same workload), loads it into a running Tollgate through its CLI and
// API, and writes into DIR OPA's data document, the request bodies for
// wrk, a service token and the reference decisions. check asks both
// servers every request and fails on any answer that differs from the
// reference.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "opa:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: opa load|check [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", "", "folder for the generated files (required)")
	base := fs.String("url", "http://127.0.0.1:9296", "Tollgate's URL")
	bin := fs.String("tollgate", "tollgate", "load: the tollgate binary")
	email := fs.String("email", "bench@example.com", "load: the platform admin's email")
	password := fs.String("password", "", "load: the platform admin's password")
	seed := fs.Uint64("seed", 16, "load: the workload's seed")
	opaURL := fs.String("opa", "", "check: OPA's decision URL (…/v1/data/tollgate/channel/decision)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	switch args[0] {
	case "load":
		start := time.Now()
		l := &loader{base: *base, bin: *bin, email: *email, password: *password, client: &http.Client{}}
		if err := l.load(ctx, generate(*seed), *dir); err != nil {
			return err
		}
		fmt.Printf("loaded %d tenants, %d users, %d channels into Tollgate in %s\n",
			numTenants, numTenants*usersPerTenant, numTenants*channelsPerTenant, time.Since(start).Round(time.Second))
		return nil
	case "check":
		tok, err := os.ReadFile(filepath.Join(*dir, fileServiceToken))
		if err != nil {
			return err
		}
		return check(ctx, *dir, []engine{
			{name: "tollgate", url: *base + "/v1/authorize", bodies: fileTollgateBodies, token: strings.TrimSpace(string(tok)), answer: tollgateAnswer},
			{name: "opa", url: *opaURL, bodies: fileOPABodies, answer: opaAnswer},
		})
	}
	return fmt.Errorf("unknown command %q; load or check", args[0])
}
