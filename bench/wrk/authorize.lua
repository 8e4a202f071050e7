-- POST /v1/authorize as a service holding authz:check: asks whether the
-- principal in PRINCIPAL may SEND_MESSAGE to the channel in CHANNEL of the
-- tenant in TENANT. See bench/run-authorize.sh.
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SERVICE_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"tenant_id":"' .. os.getenv("TENANT") .. '","principal":"' .. os.getenv("PRINCIPAL") ..
	'","action":"SEND_MESSAGE","resource":{"type":"channel","id":"' .. os.getenv("CHANNEL") .. '"}}'
