package ratelimit

// Names of the tiers Tollgate applies to its own API. Services cannot check
// them through the API, and services' own limits cannot take these names.
const (
	// TierIP limits requests without a valid credential, per client IP.
	TierIP = "ip"
	// TierTenant limits every authenticated request of a tenant.
	TierTenant = "tenant"
	// TierActor limits each API key, or each actor using a token.
	TierActor = "actor"
	// TierService limits each registered service (platform components).
	TierService = "service"
	// TierLogin limits sign-in attempts per client IP.
	TierLogin = "login"
	// TierLoginAccount limits sign-in attempts per account.
	TierLoginAccount = "login_account"
	// TierToken limits the OAuth token endpoint per client IP.
	TierToken = "token"
)

// Tiers lists the tier names in the order they are applied.
func Tiers() []string {
	return []string{TierIP, TierLogin, TierToken, TierLoginAccount, TierActor, TierTenant, TierService}
}

// IsTier reports whether name is one of Tollgate's own tiers.
func IsTier(name string) bool {
	switch name {
	case TierIP, TierTenant, TierActor, TierService, TierLogin, TierLoginAccount, TierToken:
		return true
	}
	return false
}

// TenantOverridable reports whether a tenant's plan may replace the policy
// called name. The tiers applied before a tenant is known (per IP, sign-in,
// token endpoint) and the service tier are the operator's alone.
func TenantOverridable(name string) bool {
	return !IsTier(name) || name == TierTenant || name == TierActor
}
