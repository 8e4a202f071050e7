# Tollgate's shipped channel defaults (policy/defaults/channel.cedar and
# guards.cedar) in Rego, for the side-by-side benchmark: the same
# decision and the same reasons on the same data.
#
# data.tenants[tenant_id] = {status, members: {actor_id: {roles, status}},
#                            channels: {id: {visibility?, members, managers, roles?}}}
# input = {tenant_id, principal, action, resource: {type, id}}, as POST /v1/authorize.
package tollgate.channel

tenant := data.tenants[input.tenant_id]

# Only registered channels exist: an unknown one matches nothing.
channel := tenant.channels[input.resource.id] if input.resource.type == "channel"

# A principal the tenant does not know is a visitor: active, no roles.
member := object.get(tenant.members, input.principal, {"roles": [], "status": "active"})

implied := {"owner": ["owner", "admin", "member"], "admin": ["admin", "member"]}

# The roles held, implied ones included, as Tollgate's snapshot holds them.
roles contains r if {
	some held in member.roles
	some r in object.get(implied, held, [held])
}

is_user if startswith(input.principal, "user:")

read_or_send if input.action in {"READ", "SEND_MESSAGE"}

permits contains "channel_member" if {
	read_or_send
	input.principal in channel.members
}

permits contains "channel_role" if {
	is_user
	read_or_send
	some r in channel.roles
	r in roles
}

permits contains "channel_manager" if {
	input.action in {"READ", "SEND_MESSAGE", "MANAGE"}
	input.principal in channel.managers
}

permits contains "channel_public" if {
	is_user
	input.action == "READ"
	channel.visibility == "public"
	"member" in roles
}

permits contains "channel_admin" if {
	is_user
	input.action == "MANAGE"
	channel
	"admin" in roles
}

forbids contains "tenant_suspended" if tenant.status != "active"

forbids contains "actor_disabled" if member.status != "active"

default decision := {"decision": "deny", "reasons": ["default_deny"]}

decision := {"decision": "deny", "reasons": sort(forbids)} if {
	count(forbids) > 0
} else := {"decision": "permit", "reasons": sort(permits)} if {
	count(permits) > 0
}
