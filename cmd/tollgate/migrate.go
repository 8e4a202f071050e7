package main

import (
	"context"
	"fmt"
)

func runMigrateUp(ctx context.Context, env *environment, args []string) error {
	cfg, _, err := parseConfig(env, "tollgate migrate up", "tollgate migrate up [flags]", args, nil)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, _, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "schema is at version %d\n", applied)
	return nil
}

func runMigrateStatus(ctx context.Context, env *environment, args []string) error {
	cfg, _, err := parseConfig(env, "tollgate migrate status", "tollgate migrate status [flags]", args, nil)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, latest, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	state := "up to date"
	if applied < latest {
		state = fmt.Sprintf("%d migration(s) pending; run tollgate migrate up", latest-applied)
	}
	fmt.Fprintf(env.stdout, "database: %s\napplied:  %d\nlatest:   %d\nstatus:   %s\n", redactedDatabaseURL(cfg), applied, latest, state)
	return nil
}
