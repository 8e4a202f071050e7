-- POSTs the request bodies in the file BODIES (one JSON document a line)
-- in turn, each thread from its own place in the file, with the
-- Authorization header in AUTHORIZATION when set. See bench/run-opa.sh.
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do
	bodies[#bodies + 1] = line
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("AUTHORIZATION")
if auth ~= nil and auth ~= "" then
	wrk.headers["Authorization"] = auth
end

local threads = 0
function setup(thread)
	thread:set("first", threads * 4999)
	threads = threads + 1
end

local i
function init(args)
	i = first or 0
end

function request()
	i = i % #bodies + 1
	return wrk.format(nil, nil, nil, bodies[i])
end
