-- POST /v1/auth/introspect as a service: authenticated by the service token
-- in SERVICE_TOKEN, asking about the credential in SUBJECT (an API key or an
-- access token). See bench/run-credentials.sh.
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SERVICE_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"token":"' .. os.getenv("SUBJECT") .. '"}'
