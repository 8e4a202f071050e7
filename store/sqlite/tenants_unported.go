package sqlite

import (
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// Tenants, members, roles and blocks now live in store/sqlstore. These
// helpers stay until the tables that still use them are ported too.

func errTenantNotFound() error {
	return fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
}

func scanString(r scanner) (v string, err error) {
	err = r.Scan(&v)
	return v, err
}
