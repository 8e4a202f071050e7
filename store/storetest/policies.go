package storetest

// policyTests cover policy.Store: registered resources and the versions
// of tenants' own policies.
func policyTests() []test {
	return []test{
		{"ResourcePutGet", testResourcePutGet},
		{"ResourceAttrsRoundTrip", testResourceAttrsRoundTrip},
		{"ResourceParentsKeptAsGiven", testResourceParentsKeptAsGiven},
		{"ResourceTimesRoundTrip", testResourceTimesRoundTrip},
		{"ResourcePutReplacesWhole", testResourcePutReplacesWhole},
		{"ResourceDeleteRemovesOnlyThatOne", testResourceDeleteRemovesOnlyThatOne},
		{"ResourceUnknownKeyNotFound", testResourceUnknownKeyNotFound},
		{"ResourcePutUnknownTenantNotFound", testResourcePutUnknownTenantNotFound},
		{"ResourcePutBatchIsAtomic", testResourcePutBatchIsAtomic},
		{"ResourceListOrderAndCursors", testResourceListOrderAndCursors},
		{"ResourceListLimitNotClamped", testResourceListLimitNotClamped},
		{"ResourceListBadCursorInvalid", testResourceListBadCursorInvalid},
		{"ResourceTenantIsolation", testResourceTenantIsolation},
		{"ResourceConcurrentPutsSucceed", testResourceConcurrentPutsSucceed},

		{"PolicySetNoneByDefault", testPolicySetNoneByDefault},
		{"PolicySetAddAndGet", testPolicySetAddAndGet},
		{"PolicySetVersionConflict", testPolicySetVersionConflict},
		{"PolicySetVersionNotFound", testPolicySetVersionNotFound},
		{"PolicySetUnknownTenantNotFound", testPolicySetUnknownTenantNotFound},
		{"PolicySetListNewestFirst", testPolicySetListNewestFirst},
		{"PolicySetTenantIsolation", testPolicySetTenantIsolation},
		{"PolicySetConcurrentAddOneWins", testPolicySetConcurrentAddOneWins},
		{"PolicySetConcurrentTenantsNoConflict", testPolicySetConcurrentTenantsNoConflict},
	}
}
