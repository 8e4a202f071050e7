-- POST /v1/auth/login with the benchmark account (see bench/run.sh).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"a long and unusual passphrase"}'

