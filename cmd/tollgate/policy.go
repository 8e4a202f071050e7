package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/tollgate/tollgate/policy"
)

// The policy commands work offline, on files: no configuration, no store.

// policyFlags is a flag set for a policy command, its usage text printed
// on --help or a misuse.
func policyFlags(env *environment, name, usage, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: %s\n\n%s\n", usage, about)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(env.stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func runPolicyValidate(_ context.Context, env *environment, args []string) error {
	var tenant, extension string
	fs := policyFlags(env, "tollgate policy validate", "tollgate policy validate [--tenant ID] [--schema-extension FILE] FILE…",
		`Checks Cedar policy files against Tollgate's schema as a tenant's own policies,
the way PUT /v1/tenants/{id}/policies does: each file is one complete policy
text; every policy needs an @id, unique and not a default policy's. "-" reads
standard input. Prints "FILE: ok" or each problem as
FILE:LINE:COL: policy "id": message, and exits 1 if there is any problem.`)
	fs.StringVar(&tenant, "tenant", "", "the tenant id the policies are for; when set, policies naming another Tenant are refused")
	schemaExtensionFlag(env, fs, &extension)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	c, err := policy.LoadCompiler(extension)
	if err != nil {
		return err
	}
	problems, bad := 0, 0
	for _, file := range fs.Args() {
		text, err := readPolicyFile(env, file)
		if file == "-" {
			file = "<stdin>"
		}
		if err != nil {
			fmt.Fprintf(env.stdout, "%s: %v\n", file, err)
			problems++
			bad++
			continue
		}
		err = c.Validate(tenant, string(text))
		var inv *policy.InvalidError
		switch {
		case err == nil:
			fmt.Fprintf(env.stdout, "%s: ok\n", file)
			continue
		case errors.As(err, &inv):
			for _, p := range inv.Problems {
				fmt.Fprintln(env.stdout, policy.FormatProblem(file, p))
			}
			problems += len(inv.Problems)
		default:
			fmt.Fprintf(env.stdout, "%s: %v\n", file, err)
			problems++
		}
		bad++
	}
	if problems > 0 {
		return fmt.Errorf("%s in %d of %d %s", plural(problems, "problem"), bad, fs.NArg(), pluralWord(fs.NArg(), "file"))
	}
	return nil
}

// schemaExtensionFlag adds --schema-extension, which defaults to the
// installation's policy_schema_extension setting from the environment, so
// that policies and suites are checked against the schema serve uses.
func schemaExtensionFlag(env *environment, fs *flag.FlagSet, path *string) {
	def, _ := env.getenv("TOLLGATE_POLICY_SCHEMA_EXTENSION")
	fs.StringVar(path, "schema-extension", def,
		"the installation's Cedar schema extension file (policy_schema_extension; default $TOLLGATE_POLICY_SCHEMA_EXTENSION)")
}

func readPolicyFile(env *environment, file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(io.LimitReader(env.stdin, policy.MaxPolicyTextBytes+1))
	}
	b, err := os.ReadFile(file)
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is already the line's prefix
	}
	return b, err
}

func runPolicyTest(_ context.Context, env *environment, args []string) error {
	var quiet bool
	var extension string
	fs := policyFlags(env, "tollgate policy test", "tollgate policy test [--quiet] [--schema-extension FILE] DIR|FILE…",
		`Runs policy test suites offline against the default policies and the schema
built into this binary, with the installation's schema extension when one is
given. A suite (.yaml, .yml or .json) holds a tenant's data
(members, agents, registered resources), optionally the tenant's own policies
(inline or policy_files) and cases: a request and the decision it must get,
with reasons that must match exactly when given. A DIR runs every suite file
directly in it, in name order. Prints PASS or FAIL for each case and a summary;
exits 1 if a case fails or a file is malformed. Unknown keys are errors.

A suite (YAML; JSON has the same keys):
  tenant:
    id: "7"
    active: true                  # default true; false is a suspended tenant
    roles: [moderator]            # custom roles
    members: [{actor_id: "user:93", roles: [member], active: true}]
    agents: [{actor_id: "agent:a1", owner: "user:93", active: true}]
    resources: [{type: channel, id: general, attrs: {members: ["user:93"]}}]
  policy_files: [tenant.cedar]    # relative to the suite
  policies: |                     # Cedar, after the files
    @id("no_agents") forbid (principal is Agent, action, resource);
  cases:
    - name: member sends to their channel
      principal: "user:93"
      action: SEND_MESSAGE
      resource: {type: channel, id: general}
      on_behalf_of: "user:93"     # optional, as are context: {ip: …} and entities
      decision: permit            # permit or deny
      reasons: [channel_member]   # optional; must then match exactly

Examples: policy/testdata/cases in Tollgate's source.`)
	fs.BoolVar(&quiet, "quiet", false, "print only failing cases, malformed files and the summary")
	schemaExtensionFlag(env, fs, &extension)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	c, err := policy.LoadCompiler(extension)
	if err != nil {
		return err
	}
	var files []string
	var malformed []error // arguments that are not suites, then suites that are malformed
	for _, arg := range fs.Args() {
		st, err := os.Stat(arg)
		switch {
		case err != nil:
			malformed = append(malformed, err)
		case st.IsDir():
			list, err := policy.SuiteFiles(arg)
			if err == nil && len(list) == 0 {
				err = fmt.Errorf("%s: no suite files (*.yaml, *.yml, *.json)", arg)
			}
			if err != nil {
				malformed = append(malformed, err)
			}
			files = append(files, list...)
		default:
			files = append(files, arg)
		}
	}
	for _, err := range malformed {
		fmt.Fprintf(env.stdout, "ERROR %v\n", err)
	}
	cases, failed, failedFiles, ran := 0, 0, 0, 0
	for _, f := range files {
		r, err := c.RunSuite(f)
		if err != nil {
			malformed = append(malformed, err)
			fmt.Fprintln(env.stdout, f)
			for line := range strings.SplitSeq(err.Error(), "\n") {
				fmt.Fprintf(env.stdout, "  ERROR %s\n", line)
			}
			continue
		}
		ran++
		cases += len(r.Cases)
		if n := r.Failed(); n > 0 {
			failed += n
			failedFiles++
		}
		if quiet && r.Passed() {
			continue
		}
		fmt.Fprintln(env.stdout, r.File)
		for _, c := range r.Cases {
			if c.Pass {
				if !quiet {
					fmt.Fprintf(env.stdout, "  PASS %s\n", c.Name)
				}
				continue
			}
			at := ""
			if c.Line > 0 {
				at = fmt.Sprintf(" at line %d", c.Line)
			}
			fmt.Fprintf(env.stdout, "  FAIL %s (%s)%s\n", c.Name, c.Mismatch(), at)
			if len(c.Got.Errors) > 0 {
				fmt.Fprintf(env.stdout, "       errors: %s\n", strings.Join(c.Got.Errors, "; "))
			}
		}
	}
	summary := fmt.Sprintf("%s in %s", plural(cases, "case"), plural(ran, "suite"))
	if failed > 0 {
		summary = fmt.Sprintf("%d of %s failed in %d of %s", failed, plural(cases, "case"), failedFiles, plural(ran, "suite"))
	}
	if len(malformed) > 0 {
		summary += fmt.Sprintf("; %s could not be run", plural(len(malformed), "file"))
	}
	if failed > 0 || len(malformed) > 0 {
		fmt.Fprintln(env.stdout, "FAIL:", summary)
		return errors.New("policy tests failed")
	}
	fmt.Fprintln(env.stdout, "ok:", summary)
	return nil
}

func runPolicySchema(_ context.Context, env *environment, args []string) error {
	fs := policyFlags(env, "tollgate policy schema", "tollgate policy schema",
		"Prints the Cedar schema policies are validated against.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	_, err := env.stdout.Write(policy.SchemaText())
	return err
}

func runPolicyDefaults(_ context.Context, env *environment, args []string) error {
	fs := policyFlags(env, "tollgate policy defaults", "tollgate policy defaults",
		`Prints the default policies every tenant is evaluated with, file by file.
A tenant's own policies are added to these; their @ids are taken.`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	files := policy.DefaultFiles()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if i > 0 {
			fmt.Fprintln(env.stdout)
		}
		fmt.Fprintf(env.stdout, "// ---- policy/%s\n%s", n, files[n])
		if !strings.HasSuffix(string(files[n]), "\n") {
			fmt.Fprintln(env.stdout)
		}
	}
	return nil
}

func plural(n int, word string) string { return fmt.Sprintf("%d %s", n, pluralWord(n, word)) }

func pluralWord(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
