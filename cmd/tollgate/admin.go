package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/password"
)

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
	cfg, _, err := parseConfig(env, "tollgate admin bootstrap",
		"tollgate admin bootstrap --email EMAIL --tenant SLUG [--password-stdin] [flags]", args, func(fs *flag.FlagSet) {
			fs.StringVar(&email, "email", "", "email of the first user (required)")
			fs.StringVar(&slug, "tenant", "", "slug of the first tenant (required)")
			fs.StringVar(&tenantName, "tenant-name", "", "display name of the tenant (default: the slug)")
			fs.StringVar(&displayName, "name", "", "display name of the user")
			fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from stdin instead of prompting")
		})
	if err != nil {
		return err
	}
	if email == "" || slug == "" {
		return errors.New("--email and --tenant are required")
	}
	a, err := openAdmin(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
	if n, err := a.store.CountTenants(ctx); err != nil {
		return err
	} else if n > 0 {
		return errors.New("this store already has tenants; use tollgate admin user create and tollgate admin tenant create")
	}
	if err := identity.ValidateSlug(slug); err != nil {
		return err
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
}

func runUserCreate(ctx context.Context, env *environment, args []string) error {
	var email, displayName, importHash string
	var fromStdin, platformAdmin bool
	cfg, _, err := parseConfig(env, "tollgate admin user create",
		"tollgate admin user create --email EMAIL [--password-stdin | --password-hash HASH] [flags]", args, func(fs *flag.FlagSet) {
			fs.StringVar(&email, "email", "", "email of the user (required)")
			fs.StringVar(&displayName, "name", "", "display name")
			fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from stdin instead of prompting")
			fs.StringVar(&importHash, "password-hash", "", "import an existing argon2id or bcrypt hash instead of a password (bcrypt is re-hashed on first login)")
			fs.BoolVar(&platformAdmin, "platform-admin", false, "make the user a platform admin")
		})
	if err != nil {
		return err
	}
	if email == "" {
		return errors.New("--email is required")
	}
	if importHash != "" && fromStdin {
		return errors.New("give either --password-hash or --password-stdin, not both")
	}
	a, err := openAdmin(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
	hash := importHash
	if hash != "" {
		if err := password.ValidateEncoded(hash); err != nil {
			return err
		}
	} else if hash, err = newPasswordHash(ctx, env, a, email, fromStdin); err != nil {
		return err
	}
	u, err := a.identity.CreateUser(ctx, identity.NewUser{Email: email, DisplayName: displayName, PasswordHash: hash, PlatformAdmin: platformAdmin})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created user %s (%s)\n", u.ActorID(), u.Email)
	return nil
}

func runUserList(ctx context.Context, env *environment, args []string) error {
	cfg, _, err := parseConfig(env, "tollgate admin user list", "tollgate admin user list [flags]", args, nil)
	if err != nil {
		return err
	}
	a, err := openAdmin(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTOR ID\tEMAIL\tNAME\tSTATUS\tPLATFORM ADMIN\tCREATED")
	err = eachPage(func(p identity.Page) (string, int, error) {
		list, err := a.identity.ListUsers(ctx, p)
		for _, u := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\n", u.ActorID(), u.Email, u.DisplayName, u.Status, u.PlatformAdmin, u.CreatedAt.Format(time.RFC3339))
		}
		if len(list) == 0 {
			return "", 0, err
		}
		return list[len(list)-1].ID, len(list), err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

// eachPage drives a paginated list to its end.
func eachPage(fetch func(identity.Page) (last string, n int, err error)) error {
	p := identity.Page{Limit: identity.MaxPageLimit}
	for {
		last, n, err := fetch(p)
		if err != nil || n < p.Limit {
			return err
		}
		p.After = last
	}
}

func runTenantCreate(ctx context.Context, env *environment, args []string) error {
	var slug, name, owner string
	cfg, _, err := parseConfig(env, "tollgate admin tenant create",
		"tollgate admin tenant create --slug SLUG --owner EMAIL [--name NAME] [flags]", args, func(fs *flag.FlagSet) {
			fs.StringVar(&slug, "slug", "", "slug of the tenant (required)")
			fs.StringVar(&name, "name", "", "display name (default: the slug)")
			fs.StringVar(&owner, "owner", "", "email of an existing user who becomes the owner (required)")
		})
	if err != nil {
		return err
	}
	if slug == "" || owner == "" {
		return errors.New("--slug and --owner are required")
	}
	a, err := openAdmin(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
	t, err := a.identity.AdminCreateTenant(ctx, owner, identity.NewTenant{Slug: slug, Name: name})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created tenant %s (%s)\n", t.ID, t.Slug)
	return nil
}

func runTenantList(ctx context.Context, env *environment, args []string) error {
	cfg, _, err := parseConfig(env, "tollgate admin tenant list", "tollgate admin tenant list [flags]", args, nil)
	if err != nil {
		return err
	}
	a, err := openAdmin(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSLUG\tNAME\tSTATUS\tCREATED")
	err = eachPage(func(p identity.Page) (string, int, error) {
		list, err := a.identity.ListTenants(ctx, p)
		for _, t := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Slug, t.Name, t.Status, t.CreatedAt.Format(time.RFC3339))
		}
		if len(list) == 0 {
			return "", 0, err
		}
		return list[len(list)-1].ID, len(list), err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func runKeysRotate(ctx context.Context, env *environment, args []string) error {
	cfg, _, err := parseConfig(env, "tollgate admin keys rotate", "tollgate admin keys rotate [flags]", args, nil)
	if err != nil {
		return err
	}
	a, err := openAdmin(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
	mk, err := masterKey(cfg, a.log)
	if err != nil {
		return err
	}
	kr, err := app.NewKeyring(ctx, cfg, a.store, mk, a.log)
	if err != nil {
		return err
	}
	k, err := kr.Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "new signing key %s (%s): published now, signing from %s; older keys stay published until their tokens expire\n",
		k.ID, k.Algorithm, k.CreatedAt.Add(app.KeyActivationDelay(cfg)).Format(time.RFC3339))
	return nil
}

func runKeysList(ctx context.Context, env *environment, args []string) error {
	cfg, _, err := parseConfig(env, "tollgate admin keys list", "tollgate admin keys list [flags]", args, nil)
	if err != nil {
		return err
	}
	a, err := openAdmin(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.store.Close()
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
}
