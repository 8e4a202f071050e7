package ratelimit

import "context"

// The sign-in tiers count failed attempts, not attempts: a person or a CI
// job that signs in correctly spends none of them (only the per-IP tier,
// which every anonymous request passes, limits successes). A sign-in runs
//
//	BeginLogin → check the password → LoginFailed or LoginSucceeded
//
// and the tiers are
//
//   - login (per client IP, any account): peeked by BeginLogin, charged by
//     LoginFailed. Stops one address guessing at many accounts.
//   - login_account (per account, any address): peeked, charged on
//     failure. Stops guessing at one account from many addresses; a
//     success does not reset it, or an attacker's count would be forgiven
//     whenever the owner signs in.
//   - login_account_ip (per account and client IP): charged by BeginLogin
//     and reset by LoginSucceeded, which counts exactly the failures since
//     the last success from that address. Charging before the password is
//     checked (rather than peeking) makes it atomic: parallel guesses from
//     one address cannot all pass a peek before any is charged.
//
// The peeked tiers are not atomic in that way: attempts in flight together
// all pass their peek. How many can be in flight from one address is bounded
// by the ip tier (charged on every attempt) and, per account, by
// login_account_ip; a charge past the quota is dropped (a denied check
// consumes nothing), so the count ends exhausted, not beyond.
//
// Every step answers the same for an account that does not exist: the keys
// come from the address the client typed, never from whether it is known.

// LoginAttempt is one sign-in attempt as the sign-in tiers see it.
type LoginAttempt struct {
	// Account names the account tried: the same key for every spelling of
	// its address, and whether or not the account exists.
	Account string
	// IP is the client address. "" (a sign-in from inside the process,
	// with no client) skips the tiers keyed by it.
	IP string
}

// pairKey is the key of login_account_ip. Account keys contain no "@".
func (a LoginAttempt) pairKey() string { return a.Account + "@" + a.IP }

// failureCounted are the tiers LoginFailed charges and BeginLogin peeks.
func (a LoginAttempt) failureCounted() [2]TierCheck {
	return [2]TierCheck{{Name: TierLogin, Key: a.IP}, {Name: TierLoginAccount, Key: a.Account}}
}

// BeginLogin admits a sign-in attempt before its password is checked. It
// refuses with an *ExceededError when the client's address (login) or the
// account (login_account) has no failed attempts left, consuming nothing,
// and otherwise charges the (account, address) pair (login_account_ip),
// refusing when that is exhausted. Refusals are counted as Denied. Errors:
// Unavailable "ratelimit_unavailable" when the backend failed and the tier
// fails closed (the default of every sign-in tier).
func (l *Limiter) BeginLogin(ctx context.Context, a LoginAttempt) error {
	for _, c := range a.failureCounted() {
		if c.Key == "" {
			continue
		}
		p, ok, err := l.Policy(ctx, "", c.Name)
		if err != nil {
			return err
		} else if !ok {
			continue
		}
		d, err := l.Peek(ctx, p, c.Key)
		if err != nil {
			return err
		}
		if err := Exceeded([]Decision{d}); err != nil {
			return err
		}
	}
	if a.IP == "" || a.Account == "" {
		return nil
	}
	p, ok, err := l.Policy(ctx, "", TierLoginAccountIP)
	if err != nil || !ok {
		return err
	}
	d, err := l.Check(ctx, p, a.pairKey(), 1)
	if err != nil {
		return err
	}
	return Exceeded([]Decision{d})
}

// LoginFailed charges a failed attempt to the client's address (login) and
// to the account (login_account); BeginLogin has charged the pair already.
// The attempt has been answered, so a backend failure is only counted and
// logged, and the charge is made even if the client has gone.
func (l *Limiter) LoginFailed(ctx context.Context, a LoginAttempt) {
	ctx = context.WithoutCancel(ctx)
	for _, c := range a.failureCounted() {
		if c.Key == "" {
			continue
		}
		if p, ok, err := l.Policy(ctx, "", c.Name); err == nil && ok {
			_, _ = l.charge(ctx, p, c.Key)
		}
	}
}

// LoginSucceeded forgets the failures of the (account, address) pair
// (login_account_ip): whoever signs in from there knows the password. The
// account-wide and per-address counts stay. A backend failure is counted and logged.
func (l *Limiter) LoginSucceeded(ctx context.Context, a LoginAttempt) {
	if a.IP == "" || a.Account == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if p, ok, err := l.Policy(ctx, "", TierLoginAccountIP); err == nil && ok {
		_ = l.Reset(ctx, p, a.pairKey())
	}
}
