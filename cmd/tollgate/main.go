// Command tollgate runs and administers a Tollgate server. It only wires:
// every behaviour lives in the domain packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand; groups have children instead of run.
type command struct {
	name     string
	summary  string
	run      func(ctx context.Context, env *environment, args []string) error
	children []*command
	// hidden commands are for Tollgate's own use and not listed in help.
	hidden bool
}

// environment is what commands read and write instead of globals, so tests
// can run them in-process.
type environment struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) (string, bool)
	// stdinIsTerminal decides between prompting and reading a pipe.
	stdinIsTerminal bool
	readPassword    func(prompt string) (string, error)
}

func rootCommand() *command {
	return &command{name: "tollgate", summary: "identity, authorization, usage metering and audit for multi-tenant SaaS", children: []*command{
		{name: "serve", summary: "run the HTTP API server", run: runServe},
		{name: "migrate", summary: "apply or inspect database migrations", children: []*command{
			{name: "up", summary: "apply every pending migration", run: runMigrateUp},
			{name: "status", summary: "show the applied and the latest schema version", run: runMigrateStatus},
		}},
		{name: "policy", summary: "validate and test Cedar policies offline", children: []*command{
			{name: "validate", summary: "check policy files against the schema", run: runPolicyValidate},
			{name: "test", summary: "run policy test suites (tenant data, policies, expected decisions)", run: runPolicyTest},
			{name: "schema", summary: "print the Cedar schema", run: runPolicySchema},
			{name: "defaults", summary: "print the default policies", run: runPolicyDefaults},
		}},
		{name: "audit", summary: "verify, sign and export the audit log", children: []*command{
			{name: "verify", summary: "recompute audit chains and digests, or an export's chain, and name the first broken link", run: runAuditVerify},
			{name: "export", summary: "write one stream as OCSF NDJSON, verifiable with verify --file", run: runAuditExport},
			{name: "digest", summary: "sign the head of every audit stream that moved since its last digest", run: runAuditDigest},
			{name: "prune", summary: "delete audit events past their retention, leaving a signed anchor so that the rest still verifies", run: runAuditPrune},
			{name: "retention", summary: "give a tenant an audit retention of its own (--days 0 removes it)", run: runAuditRetention},
		}},
		{name: "usage", summary: "report metered usage", children: []*command{
			{name: "report", summary: "write usage per tenant, meter, dimensions and hour or day as CSV or NDJSON, as GET /v1/usage/export does", run: runUsageReport},
			{name: "rebuild", summary: "measure a meter again from the raw events (back-fill a new meter), in bounded transactions", run: runUsageRebuild},
		}},
		{name: "version", summary: "print the version", run: runVersion},
		{name: hashWorkerCommand, summary: "compute password hashes for a running server (internal)", run: runHashWorker, hidden: true},
		{name: "admin", summary: "administer tenants, users and keys directly in the store", children: []*command{
			{name: "bootstrap", summary: "create the first user, as platform admin and owner of a new tenant", run: runBootstrap},
			{name: "tenant", summary: "manage tenants", children: []*command{
				{name: "create", summary: "create a tenant owned by an existing user", run: runTenantCreate},
				{name: "list", summary: "list tenants", run: runTenantList},
			}},
			{name: "user", summary: "manage users", children: []*command{
				{name: "create", summary: "create a user", run: runUserCreate},
				{name: "list", summary: "list users", run: runUserList},
			}},
			{name: "outbox", summary: "show the newest email in the outbox, with its links while the outbox keeps them (always with no smtp_url)", run: runOutbox},
			{name: "keys", summary: "manage token signing keys", children: []*command{
				{name: "rotate", summary: "add a new signing key; older keys stay published until their tokens expire", run: runKeysRotate},
				{name: "list", summary: "list signing keys", run: runKeysList},
			}},
		}},
	}}
}

// dispatch walks args down the command tree.
func dispatch(ctx context.Context, env *environment, cmd *command, path string, args []string) error {
	if cmd.run != nil {
		return cmd.run(ctx, env, args)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printGroupHelp(env.stdout, cmd, path)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, c := range cmd.children {
		if c.name == args[0] {
			return dispatch(ctx, env, c, path+" "+c.name, args[1:])
		}
	}
	printGroupHelp(env.stderr, cmd, path)
	return fmt.Errorf("unknown command %q", path+" "+args[0])
}

func printGroupHelp(w io.Writer, cmd *command, path string) {
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\n%s\n\nCommands:\n", path, cmd.summary)
	for _, c := range cmd.children {
		if !c.hidden {
			fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for details.\n", path)
}

// errUsage means help was printed for a missing argument; exit 2 quietly.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := osEnvironment()
	err := dispatch(ctx, env, rootCommand(), "tollgate", os.Args[1:])
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "tollgate:", err)
		os.Exit(1)
	}
}
