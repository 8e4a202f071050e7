package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/password"
)

// adminSpec describes one admin command: its flags and the check of their
// values, which runs before the store is opened.
type adminSpec struct {
	name, usage string
	flags       func(*flag.FlagSet)
	check       func() error
}

// runAdmin parses flags, opens the store with the operator's authority, runs
// fn and closes the store again.
func runAdmin(ctx context.Context, env *environment, args []string, spec adminSpec, fn func(context.Context, *adminSession) error) error {
	cfg, _, err := parseConfig(env, "tollgate admin "+spec.name, "tollgate admin "+spec.name+" "+spec.usage, args, spec.flags)
	if err != nil {
		return err
	}
	if spec.check != nil {
		if err := spec.check(); err != nil {
			return err
		}
	}
	a, err := openAdmin(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
	// What an admin command changes is recorded as the operator's act at
	// the command line.
	ctx = audit.WithOrigin(ctx, audit.Origin{ActorID: "operator", CredentialKind: "command_line", UserAgent: "tollgate admin " + spec.name})
	return fn(ctx, a)
}

// newPasswordHash reads a new password, applies the policy and hashes it.
func newPasswordHash(ctx context.Context, env *environment, a *adminSession, email string, fromStdin bool) (string, error) {
	plain, err := readNewPassword(env, fromStdin)
	if err != nil {
		return "", err
	}
	normalized, _ := identity.NormalizeEmail(email)
	local, _, _ := strings.Cut(normalized, "@")
	if err := password.DefaultPolicy().Check(plain, normalized, local, "tollgate"); err != nil {
		return "", err
	}
	h, err := app.NewHasher(a.cfg)
	if err != nil {
		return "", err
	}
	return h.Hash(ctx, plain)
}

func runBootstrap(ctx context.Context, env *environment, args []string) error {
	var email, slug, tenantName, displayName string
	var fromStdin bool
	spec := adminSpec{
		name: "bootstrap", usage: "--email EMAIL --tenant SLUG [--password-stdin] [flags]",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&email, "email", "", "email of the first user (required)")
			fs.StringVar(&slug, "tenant", "", "slug of the first tenant (required)")
			fs.StringVar(&tenantName, "tenant-name", "", "display name of the tenant (default: the slug)")
			fs.StringVar(&displayName, "name", "", "display name of the user")
			fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from stdin instead of prompting")
		},
		check: func() error {
			if email == "" || slug == "" {
				return errors.New("--email and --tenant are required")
			}
			return identity.ValidateTenantSlug(slug)
		},
	}
	return runAdmin(ctx, env, args, spec, func(ctx context.Context, a *adminSession) error {
		if n, err := a.store.CountTenants(ctx); err != nil {
			return err
		} else if n > 0 {
			return errors.New("this store already has tenants; use tollgate admin user create and tollgate admin tenant create")
		}
		hash, err := newPasswordHash(ctx, env, a, email, fromStdin)
		if err != nil {
			return err
		}
		u, t, err := a.identity.Bootstrap(ctx, identity.NewUser{Email: email, DisplayName: displayName, PasswordHash: hash},
			identity.NewTenant{Slug: slug, Name: tenantName})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "created user %s (%s), platform admin\ncreated tenant %s (%s), owned by %s\n", u.ActorID(), u.Email, t.ID, t.Slug, u.ActorID())
		return nil
	})
}

func runUserCreate(ctx context.Context, env *environment, args []string) error {
	var email, displayName, importHash string
	var fromStdin, platformAdmin bool
	spec := adminSpec{
		name: "user create", usage: "--email EMAIL [--password-stdin | --password-hash HASH] [flags]",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&email, "email", "", "email of the user (required)")
			fs.StringVar(&displayName, "name", "", "display name")
			fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from stdin instead of prompting")
			fs.StringVar(&importHash, "password-hash", "", "import an existing argon2id or bcrypt hash instead of a password (bcrypt is re-hashed on first login)")
			fs.BoolVar(&platformAdmin, "platform-admin", false, "make the user a platform admin")
		},
		check: func() error {
			switch {
			case email == "":
				return errors.New("--email is required")
			case importHash != "" && fromStdin:
				return errors.New("give either --password-hash or --password-stdin, not both")
			case importHash != "":
				return password.ValidateEncoded(importHash)
			}
			return nil
		},
	}
	return runAdmin(ctx, env, args, spec, func(ctx context.Context, a *adminSession) error {
		hash := importHash
		if hash == "" {
			var err error
			if hash, err = newPasswordHash(ctx, env, a, email, fromStdin); err != nil {
				return err
			}
		}
		u, err := a.identity.CreateUser(ctx, identity.NewUser{Email: email, DisplayName: displayName, PasswordHash: hash, PlatformAdmin: platformAdmin})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "created user %s (%s)\n", u.ActorID(), u.Email)
		return nil
	})
}

func runUserList(ctx context.Context, env *environment, args []string) error {
	return runAdmin(ctx, env, args, adminSpec{name: "user list", usage: "[flags]"}, func(ctx context.Context, a *adminSession) error {
		return printAll(env.stdout, "ACTOR ID\tEMAIL\tNAME\tSTATUS\tPLATFORM ADMIN\tCREATED",
			func(p cursor.Page) ([]identity.User, error) { return a.identity.ListUsers(ctx, p) },
			func(u identity.User) string { return u.ID },
			func(u identity.User) []any {
				return []any{u.ActorID(), u.Email, u.DisplayName, u.Status, u.PlatformAdmin, u.CreatedAt.Format(time.RFC3339)}
			})
	})
}

func runTenantCreate(ctx context.Context, env *environment, args []string) error {
	var slug, name, owner string
	spec := adminSpec{
		name: "tenant create", usage: "--slug SLUG --owner EMAIL [--name NAME] [flags]",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&slug, "slug", "", "slug of the tenant (required)")
			fs.StringVar(&name, "name", "", "display name (default: the slug)")
			fs.StringVar(&owner, "owner", "", "email of an existing user who becomes the owner (required)")
		},
		check: func() error {
			if slug == "" || owner == "" {
				return errors.New("--slug and --owner are required")
			}
			return nil
		},
	}
	return runAdmin(ctx, env, args, spec, func(ctx context.Context, a *adminSession) error {
		t, err := a.identity.AdminCreateTenant(ctx, owner, identity.NewTenant{Slug: slug, Name: name})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "created tenant %s (%s)\n", t.ID, t.Slug)
		return nil
	})
}

func runTenantList(ctx context.Context, env *environment, args []string) error {
	return runAdmin(ctx, env, args, adminSpec{name: "tenant list", usage: "[flags]"}, func(ctx context.Context, a *adminSession) error {
		return printAll(env.stdout, "ID\tSLUG\tNAME\tSTATUS\tCREATED",
			func(p cursor.Page) ([]identity.Tenant, error) { return a.identity.ListTenants(ctx, p) },
			func(t identity.Tenant) string { return t.ID },
			func(t identity.Tenant) []any {
				return []any{t.ID, t.Slug, t.Name, t.Status, t.CreatedAt.Format(time.RFC3339)}
			})
	})
}

// printAll pages through a list to its end and prints it as a table.
func printAll[T any](w io.Writer, header string, fetch func(cursor.Page) ([]T, error), key func(T) string, row func(T) []any) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	p := cursor.Page{Limit: cursor.MaxLimit}
	for {
		list, err := fetch(p)
		if err != nil {
			return err
		}
		for _, it := range list {
			cells := row(it)
			fmt.Fprintf(tw, strings.TrimSuffix(strings.Repeat("%v\t", len(cells)), "\t")+"\n", cells...)
		}
		if len(list) < p.Limit {
			return tw.Flush()
		}
		p.After = key(list[len(list)-1])
	}
}

func runKeysRotate(ctx context.Context, env *environment, args []string) error {
	return runAdmin(ctx, env, args, adminSpec{name: "keys rotate", usage: "[flags]"}, func(ctx context.Context, a *adminSession) error {
		mk, err := masterKey(a.cfg, a.log)
		if err != nil {
			return err
		}
		kr, err := app.NewKeyring(ctx, a.cfg, a.store, mk)
		if err != nil {
			return err
		}
		k, err := kr.Rotate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "new signing key %s (%s): published now, signing from %s; older keys stay published until their tokens expire\n",
			k.ID, k.Algorithm, k.CreatedAt.Add(app.KeyActivationDelay(a.cfg)).Format(time.RFC3339))
		return nil
	})
}

func runKeysList(ctx context.Context, env *environment, args []string) error {
	return runAdmin(ctx, env, args, adminSpec{name: "keys list", usage: "[flags]"}, func(ctx context.Context, a *adminSession) error {
		keys, err := a.store.ListSigningKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALGORITHM\tCREATED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.Algorithm, k.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	})
}
