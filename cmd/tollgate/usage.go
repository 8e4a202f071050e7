package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/usage"
)

// runUsageReport prints what GET /v1/usage/export answers, for one tenant
// or every tenant, read directly from the store: the operator's billing
// run.
func runUsageReport(ctx context.Context, env *environment, args []string) error {
	var tenant, fromS, toS, window, format, meter, out string
	var all bool
	usageLine := "tollgate usage report (--tenant ID | --all) [--from TIME --to TIME] [--window hour|day] [--format csv|ndjson] [--meter NAME] [--out FILE] [flags]"
	cfg, fset, err := parseConfig(env, "tollgate usage report", usageLine, args, func(fs *flag.FlagSet) {
		fs.StringVar(&tenant, "tenant", "", "report this tenant's usage")
		fs.BoolVar(&all, "all", false, "report every tenant's usage, tenant by tenant")
		fs.StringVar(&fromS, "from", "", "start, RFC 3339, a whole window (default: the current billing period, with --to)")
		fs.StringVar(&toS, "to", "", "end, exclusive, RFC 3339, a whole window")
		fs.StringVar(&window, "window", "day", "window: hour or day")
		fs.StringVar(&format, "format", "csv", "csv or ndjson")
		fs.StringVar(&meter, "meter", "", "report this meter only (default: every meter)")
		fs.StringVar(&out, "out", "", "write to this file instead of stdout")
	})
	if err != nil {
		return err
	}
	if btoi(tenant != "")+btoi(all) != 1 {
		fset.Usage()
		return errors.New("give exactly one of --tenant and --all")
	}
	f, err := usage.ParseFormat(format)
	if err != nil {
		return err
	}
	q := usage.ExportQuery{Meter: meter, Window: usage.Window(window)}
	if err := parseTimeFlags(fromS, toS, &q.From, &q.To); err != nil {
		return err
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
	tenants := []string{tenant}
	if all {
		if tenants, err = allTenants(ctx, st); err != nil {
			return err
		}
	}
	// One writer for every tenant: one CSV header, rows tenant by tenant.
	rw := usage.NewRowWriter(w, f)
	meters, err := cfg.UsageMeters()
	if err != nil {
		return err
	}
	now := time.Now()
	for _, id := range tenants {
		q.TenantID = id
		// The operator reads the database directly: no policy is asked.
		if err := usage.Export(ctx, st, meters, q, now, rw.Write); err != nil {
			return err
		}
	}
	return rw.Flush()
}

// allTenants lists every tenant's id, in id order.
func allTenants(ctx context.Context, st identity.Store) ([]string, error) {
	var out []string
	p := cursor.Page{Limit: cursor.MaxLimit}
	for {
		page, err := st.ListTenants(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			out = append(out, t.ID)
		}
		if len(page) < p.Limit {
			return out, nil
		}
		p.After = page[len(page)-1].ID
	}
}
