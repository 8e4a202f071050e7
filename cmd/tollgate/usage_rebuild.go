package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/tollgate/tollgate/usage"
)

// runUsageRebuild measures a meter again from the raw events: a meter a
// tenant defined after its events were recorded is back-filled.
func runUsageRebuild(ctx context.Context, env *environment, args []string) error {
	var tenant, meter, fromS, toS string
	var all bool
	var step time.Duration
	usageLine := "tollgate usage rebuild --meter NAME (--tenant ID | --all) [--from TIME --to TIME] [--step DURATION] [flags]"
	cfg, fset, err := parseConfig(env, "tollgate usage rebuild", usageLine, args, func(fs *flag.FlagSet) {
		fs.StringVar(&meter, "meter", "", "the meter to measure again (a shipped, configured or tenant's meter)")
		fs.StringVar(&tenant, "tenant", "", "rebuild this tenant's roll-ups")
		fs.BoolVar(&all, "all", false, "rebuild every tenant that has the meter, tenant by tenant")
		fs.StringVar(&fromS, "from", "", "start, RFC 3339, a whole minute (default: the current billing period, with --to)")
		fs.StringVar(&toS, "to", "", "end, exclusive, RFC 3339, a whole minute")
		fs.DurationVar(&step, "step", usage.DefaultRebuildStep, "the range one transaction rebuilds: whole minutes, at most 24h")
	})
	if err != nil {
		return err
	}
	if meter == "" || btoi(tenant != "")+btoi(all) != 1 {
		fset.Usage()
		return errors.New("give --meter and exactly one of --tenant and --all")
	}
	q := usage.RebuildQuery{Meter: meter, Step: step}
	if err := parseTimeFlags(fromS, toS, &q.From, &q.To); err != nil {
		return err
	}
	switch {
	case q.From.IsZero() && q.To.IsZero():
		p := usage.PeriodOf(time.Now())
		q.From, q.To = p.Start, p.End
	case q.From.IsZero() || q.To.IsZero():
		return errors.New("give both --from and --to, or neither for the current billing period")
	}
	st, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	tenants := []string{tenant}
	if all {
		if tenants, err = allTenants(ctx, st); err != nil {
			return err
		}
	}
	meters, err := cfg.UsageMeters()
	if err != nil {
		return err
	}
	svc := usage.NewService(usage.Deps{Store: st, Meters: meters}, usage.Options{})
	for _, id := range tenants {
		q.TenantID = id
		if all {
			// A tenant without the meter (another tenant's own) is skipped.
			ms, err := st.TenantMeters(ctx, id)
			if err != nil {
				return err
			}
			if _, base := meters.Lookup(id, meter); !base && !slices.ContainsFunc(ms.Meters, func(m usage.Meter) bool { return m.Name == meter }) {
				continue
			}
		}
		done, err := svc.Rebuild(ctx, q, nil)
		if err != nil {
			return fmt.Errorf("tenant %s: %w (the steps before this one are rebuilt; run again to finish)", id, err)
		}
		fmt.Fprintf(env.stdout, "%s\t%s\t%d events\t%d steps\n", id, meter, done.Events, done.Steps)
	}
	return nil
}
