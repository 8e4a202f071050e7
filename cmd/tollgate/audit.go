package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/token"
)

// errChainBroken makes verify exit 1 after it has printed its reports.
var errChainBroken = errors.New("audit verification failed")

func runAuditVerify(ctx context.Context, env *environment, args []string) error {
	var tenant, file, keysFile string
	var platform, all bool
	var from int64
	usage := "tollgate audit verify (--tenant ID | --platform | --all | --file EXPORT) [--from SEQ] [flags]"
	cfg, fset, err := parseConfig(env, "tollgate audit verify", usage, args, func(fs *flag.FlagSet) {
		fs.StringVar(&tenant, "tenant", "", "verify this tenant's stream")
		fs.BoolVar(&platform, "platform", false, "verify the platform stream")
		fs.BoolVar(&all, "all", false, "verify every stream")
		fs.StringVar(&file, "file", "", "verify an export (tollgate audit export, GET /v1/audit/export) instead of the database")
		fs.StringVar(&keysFile, "keys", "", "with --file: verify the export's digests with this JWK Set (GET /.well-known/audit-keys.json)")
		fs.Int64Var(&from, "from", 1, "first sequence number to verify; its predecessor's hash is taken on trust")
	})
	if err != nil {
		return err
	}
	if n := btoi(tenant != "") + btoi(platform) + btoi(all) + btoi(file != ""); n != 1 {
		fset.Usage()
		return errors.New("give exactly one of --tenant, --platform, --all and --file")
	}
	if keysFile != "" && file == "" {
		return errors.New("--keys goes with --file; the database's own keys verify its digests")
	}
	if file != "" {
		return verifyExportFile(ctx, env, file, keysFile)
	}
	if from < 1 {
		return errors.New("--from must be at least 1")
	}
	st, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()

	sealer, err := existingSealer(cfg)
	if err != nil {
		return err
	}
	if sealer == nil {
		fmt.Fprintln(env.stderr, "warning: no master key: the digest keys are not authenticated, so whoever can write to the database could have signed digests of their own")
	}
	keys, err := audit.LoadKeys(ctx, st.AuditKeyStore(), sealer)
	if err != nil {
		return err
	}

	streams := []string{tenant}
	if all {
		if streams, err = allStreams(ctx, st); err != nil {
			return err
		}
	}
	broken, first := 0, ""
	for _, s := range streams {
		r, err := audit.Verify(ctx, st, s, audit.VerifyOptions{From: from, Keys: keys, ReadAhead: storeReadAhead})
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, r.String())
		if r.Break != nil {
			if broken == 0 {
				first = r.String()
			}
			broken++
		}
	}
	if broken > 0 {
		return fmt.Errorf("%w: %d of %d streams broken; first: %s", errChainBroken, broken, len(streams), first)
	}
	return nil
}

// allStreams lists every stream that has a head.
func allStreams(ctx context.Context, st audit.Store) ([]string, error) {
	var out []string
	var after *string
	for {
		heads, err := st.ListAuditHeads(ctx, after, audit.MaxPage)
		if err != nil {
			return nil, err
		}
		for _, h := range heads {
			out = append(out, h.TenantID)
		}
		if len(heads) < audit.MaxPage {
			return out, nil
		}
		last := heads[len(heads)-1].TenantID
		after = &last
	}
}

// openSigning parses the flags of the signing command name and opens the
// store and the audit digest keyring; the caller closes a.store.
func openSigning(ctx context.Context, env *environment, name string, args []string) (*adminSession, *token.Keyring, error) {
	cfg, _, err := parseConfig(env, "tollgate audit "+name, "tollgate audit "+name+" [flags]", args, nil)
	if err != nil {
		return nil, nil, err
	}
	a, err := openAdmin(ctx, env, cfg)
	if err != nil {
		return nil, nil, err
	}
	mk, err := masterKey(cfg, a.log)
	if err == nil {
		var kr *token.Keyring
		if kr, err = app.NewAuditKeyring(ctx, a.store, mk); err == nil {
			return a, kr, nil
		}
	}
	a.store.Close()
	return nil, nil, err
}

func runAuditDigest(ctx context.Context, env *environment, args []string) error {
	a, kr, err := openSigning(ctx, env, "digest", args)
	if err != nil {
		return err
	}
	defer a.store.Close()
	n, err := audit.NewDigester(a.store, kr, audit.DigesterOptions{}).DigestAll(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "signed %d digests\n", n)
	return nil
}

// existingSealer returns the sealer of the configured master key, or nil
// when none is configured; unlike masterKey it never creates one, since
// verify must not write.
func existingSealer(cfg config.Config) (*token.Sealer, error) {
	raw := cfg.MasterKey
	if raw == "" && cfg.IsSQLite() {
		b, err := os.ReadFile(cfg.MasterKeyFile())
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		raw = strings.TrimSpace(string(b))
	}
	if raw == "" {
		return nil, nil
	}
	mk, err := token.ParseMasterKey(raw)
	if err != nil {
		return nil, err
	}
	return token.NewSealer(mk)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// storeReadAhead is how many pages verify reads at once: the stores read
// by seq and serve reads in parallel (SQLite has four read connections).
const storeReadAhead = 4

// verifyExportFile verifies an export offline, without the database: its
// digests too when the published keys are given.
func verifyExportFile(ctx context.Context, env *environment, path, keysFile string) error {
	var keys audit.KeySet
	if keysFile != "" {
		b, err := os.ReadFile(keysFile)
		if err != nil {
			return err
		}
		k, err := audit.ParseJWKS(b)
		if err != nil {
			return err
		}
		keys = k
	} else {
		fmt.Fprintln(env.stderr, "note: no --keys: the export's digests are not checked, so it proves only its own consistency")
	}
	r, err := audit.VerifyExport(ctx, path, keys)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, r.String())
	if r.Break != nil {
		return fmt.Errorf("%w: %s", errChainBroken, r.String())
	}
	return nil
}

func runAuditExport(ctx context.Context, env *environment, args []string) error {
	var tenant, fromS, toS, out string
	var platform bool
	usage := "tollgate audit export (--tenant ID | --platform) [--from TIME] [--to TIME] [--out FILE] [flags]"
	cfg, fset, err := parseConfig(env, "tollgate audit export", usage, args, func(fs *flag.FlagSet) {
		fs.StringVar(&tenant, "tenant", "", "export this tenant's stream")
		fs.BoolVar(&platform, "platform", false, "export the platform stream")
		fs.StringVar(&fromS, "from", "", "first event time, RFC 3339 (default: the stream's start)")
		fs.StringVar(&toS, "to", "", "events before this time, RFC 3339 (default: the stream's end)")
		fs.StringVar(&out, "out", "", "write to this file instead of stdout")
	})
	if err != nil {
		return err
	}
	if btoi(tenant != "")+btoi(platform) != 1 {
		fset.Usage()
		return errors.New("give exactly one of --tenant and --platform")
	}
	var from, to time.Time
	if err := parseTimeFlags(fromS, toS, &from, &to); err != nil {
		return err
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return errors.New("--to must be after --from")
	}
	st, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	w, done, err := exportOutput(env, out)
	if err != nil {
		return err
	}
	defer done()
	nd := audit.NewNDJSONWriter(w)
	// The operator reads the database directly: no read rule, and no
	// range limit either, since nothing is held in memory.
	if err := audit.ExportStream(ctx, st, tenant, from, to, nd); err != nil {
		return err
	}
	return nd.Flush()
}
