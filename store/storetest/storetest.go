// Package storetest is the conformance suite every store.Store backend must
// pass. Backends call Run from their own tests with a function that opens a
// fresh, migrated, empty store.
package storetest

import (
	"testing"

	"github.com/tollgate/tollgate/store"
)

// test is one conformance case. It gets a store of its own, so cases run in
// parallel and never see each other's rows.
type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// Run runs every conformance case against the backend open creates. open
// must return a fresh, migrated, empty store and register its cleanup on t;
// it is called once per case, from parallel subtests.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Lifecycle", lifecycleTests()},
		{"Tenants", tenantTests()},
		{"Users", userTests()},
		{"Members", memberTests()},
		{"LastOwner", lastOwnerTests()},
		{"Roles", roleTests()},
		{"Isolation", isolationTests()},
		{"Sessions", sessionTests()},
		{"ListSessions", sessionListTests()},
		{"Overview", overviewTests()},
		{"RevocationFeed", revocationFeedTests()},
		{"RotateRefresh", rotateTests()},
		{"SigningKeys", keyTests()},
		{"Agents", agentTests()},
		{"APIKeys", apiKeyTests()},
		{"Services", serviceTests()},
		{"BlockLists", blockTests()},
		{"RateLimits", rateLimitTests()},
		{"Policies", policyTests()},
		{"Schemas", schemaTests()},
		{"Values", valueTests()},
		{"Counts", countTests()},
		{"Usage", usageTests()},
		{"MailOutbox", mailTests()},
		{"Invitations", invitationTests()},
		{"Passwords", passwordTests()},
		{"UsageExport", usageExportTests()},
		{"Webhooks", webhookTests()},
		{"UsageQuotas", quotaTests()},
		{"UsageZones", usageZoneTests()},
		{"UsageCorrections", usageCorrectionTests()},
		{"UsageMeters", usageMeterTests()},
		{"UsageHours", usageHourTests()},
		{"MFA", mfaTests()},
		{"Passkeys", passkeyTests()},
		{"TenantDeletion", deletionTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, open(t))
				})
			}
		})
	}
}
