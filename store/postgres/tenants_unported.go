package postgres

import (
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// Tenants, members, roles and blocks now live in store/sqlstore. This
// helper stays until the tables that still use it are ported too.

func errTenantNotFound() error {
	return fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
}
