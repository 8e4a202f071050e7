package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/audit"
)

// runAuditPrune runs retention once, as serve does every few hours.
func runAuditPrune(ctx context.Context, env *environment, args []string) error {
	a, kr, err := openSigning(ctx, env, "prune", args)
	if err != nil {
		return err
	}
	defer a.store.Close()
	n, err := audit.NewPruner(a.store, kr, a.cfg.AuditRetentionDays, nil).PruneAll(ctx)
	fmt.Fprintf(env.stdout, "pruned %d events\n", n)
	return err
}

// runAuditRetention sets or removes a tenant's own retention, recorded as
// the operator's act at the command line.
func runAuditRetention(ctx context.Context, env *environment, args []string) error {
	var tenant string
	var days int
	cfg, fset, err := parseConfig(env, "tollgate audit retention", "tollgate audit retention --tenant ID --days N [flags]", args, func(fs *flag.FlagSet) {
		fs.StringVar(&tenant, "tenant", "", "the tenant")
		fs.IntVar(&days, "days", -1, "days its audit events are kept; 0 returns it to audit_retention_days")
	})
	if err != nil {
		return err
	}
	if tenant == "" || days < 0 {
		fset.Usage()
		return errors.New("give --tenant and --days")
	}
	a, err := openAdmin(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
	if _, err := a.store.GetTenant(ctx, tenant); err != nil {
		return err
	}
	ctx = audit.WithOrigin(ctx, audit.Origin{ActorID: "operator", CredentialKind: "command_line", UserAgent: "tollgate audit retention"})
	if err := audit.SetRetention(ctx, a.store, tenant, days, time.Now()); err != nil {
		return err
	}
	if days == 0 {
		days = cfg.AuditRetentionDays
	}
	fmt.Fprintf(env.stdout, "tenant %s: audit events kept %d days\n", tenant, days)
	return nil
}
