package redis

import goredis "github.com/redis/go-redis/v9"

// The scripts take the decision — read state, decide, write state — and
// return the state they read and the now they used, from which Allow
// computes the Result with ratelimit.DecideGCRA / DecideWindow: one source
// of truth for Remaining, ResetAfter and RetryAfter, and a check that the
// script decided as the Go math does.
//
// Lua numbers are doubles, exact only below 2^53, and instants in
// nanoseconds since the epoch (about 1.8e18) and GCRA spans (up to 2^61 ns)
// are above it. So the scripts carry every such value as two exact limbs,
// hi×10^9 + lo with 0 ≤ lo < 10^9 — for an instant, seconds and
// nanoseconds — and only add, subtract and compare limbs. Stored values are
// decimal strings of whole nanoseconds or counts; replies are integers only.
//
// ARGV[1] is "1" to read the server clock (TIME, microsecond resolution)
// instead of now = ARGV[2]×10^9 + ARGV[3]. Redis 7 replicates a script's
// effects, not the script, so reading TIME needs no replicate_commands().
//
// Each script's last argument is "1" for a peek (Backend.Peek): the script
// decides as for a check of cost 1 and replies the same, but writes
// nothing — no SET, HSET, PEXPIRE or DEL — so a peek is one atomic read.
const luaPrelude = `
local B = 1000000000
local function fmt(n) return string.format('%d', n) end
local now_hi, now_lo
if ARGV[1] == '1' then
  local t = redis.call('TIME')
  now_hi, now_lo = tonumber(t[1]), tonumber(t[2]) * 1000
else
  now_hi, now_lo = tonumber(ARGV[2]), tonumber(ARGV[3])
end
`

// gcraScript decides GCRA as ratelimit.DecideGCRA does.
//
// KEYS[1]: string, the TAT in ns since the epoch (absent: 0).
// ARGV[4..7]: increment T×cost and τ = T×Quota as limbs (saturated at
// 2^61 by the caller). ARGV[8]: "1" for a peek.
// Reply: {allowed 0|1, now_hi, now_lo, old_tat_hi, old_tat_lo}.
var gcraScript = goredis.NewScript(luaPrelude + `
local inc_hi, inc_lo = tonumber(ARGV[4]), tonumber(ARGV[5])
local tau_hi, tau_lo = tonumber(ARGV[6]), tonumber(ARGV[7])
local peek = ARGV[8] == '1'
local tat_hi, tat_lo = 0, 0
local v = redis.pcall('GET', KEYS[1])
if type(v) == 'table' and v.err then
  -- The limit changed strategy and the key holds window state: start over
  -- as Local does.
  if not peek then redis.call('DEL', KEYS[1]) end
  v = false
end
if v then
  local n = string.len(v)
  if n <= 9 then
    tat_lo = tonumber(v) or 0
  else
    tat_hi, tat_lo = tonumber(string.sub(v, 1, n - 9)) or 0, tonumber(string.sub(v, n - 8)) or 0
  end
end
-- backlog = max(tat − now, 0), capped at 2^61 = 2305843009×10^9 + 213693952
local b_hi, b_lo = tat_hi - now_hi, tat_lo - now_lo
if b_lo < 0 then b_lo = b_lo + B; b_hi = b_hi - 1 end
if b_hi < 0 then b_hi, b_lo = 0, 0 end
if b_hi > 2305843009 or (b_hi == 2305843009 and b_lo > 213693952) then
  b_hi, b_lo = 2305843009, 213693952
end
local nb_hi, nb_lo = b_hi + inc_hi, b_lo + inc_lo
if nb_lo >= B then nb_lo = nb_lo - B; nb_hi = nb_hi + 1 end
local allowed = 0
if nb_hi < tau_hi or (nb_hi == tau_hi and nb_lo <= tau_lo) then
  allowed = 1
end
if allowed == 1 and not peek then
  local t_hi, t_lo = now_hi + nb_hi, now_lo + nb_lo
  if t_lo >= B then t_lo = t_lo - B; t_hi = t_hi + 1 end
  local s
  if t_hi > 0 then s = string.format('%d%09d', t_hi, t_lo) else s = fmt(t_lo) end
  -- The TAT matters until it has passed: expire after newBacklog, ≥ 1ms.
  local ms = nb_hi * 1000 + math.ceil(nb_lo / 1000000)
  if ms < 1 then ms = 1 end
  redis.call('SET', KEYS[1], s, 'PX', fmt(ms))
end
return {allowed, now_hi, now_lo, tat_hi, tat_lo}
`)

// windowScript decides the sliding window as ratelimit.DecideWindow does.
//
// KEYS[1]: hash {s = Start/P (the window's index since the epoch),
// p = Prev, c = Curr} (absent: all 0).
// ARGV[4..6]: P in ns (1e6 ≤ P ≤ 8.64e13), Rate, cost. ARGV[7]: "1" for
// a peek.
// Reply: {allowed 0|1, now_hi, now_lo, old s, old p, old c} (counts
// clamped to [0, 2^40] as DecideWindow clamps them).
//
// A denied request writes only when it rolled the stored state to a new
// window, as Local does; a state in which nothing weighs any more is deleted
// rather than stored (Local.Sweep drops those too).
var windowScript = goredis.NewScript(luaPrelude + `
local P, rate, cost = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local peek = ARGV[7] == '1'
-- e = now mod P and w = ⌊now/P⌋, exactly: now×10 stays below 2^53 in
-- each step of the reduction, and the quotient is within 0.01 of an integer.
local e = math.fmod(now_hi, P)
for _ = 1, 9 do e = math.fmod(e * 10, P) end
e = math.fmod(e + now_lo, P)
local w = math.floor((now_hi * B + (now_lo - e)) / P + 0.5)

local function clamp(n)
  n = tonumber(n) or 0
  if n < 0 then return 0 end
  if n > 1099511627776 then return 1099511627776 end
  return n
end
-- ⌊a×b/c⌋ for 0 ≤ a ≤ 2^40 and 0 ≤ b ≤ c < 2^51, by binary long
-- multiplication: the running remainder stays below 2c, so exact.
local function muldiv(a, b, c)
  local bit = 1
  while bit * 2 <= a do bit = bit * 2 end
  local q, r = 0, 0
  while bit >= 1 do
    q, r = q * 2, r * 2
    if r >= c then r = r - c; q = q + 1 end
    if a >= bit then
      a = a - bit
      r = r + b
      if r >= c then r = r - c; q = q + 1 end
    end
    bit = bit / 2
  end
  return q
end

local st = redis.pcall('HMGET', KEYS[1], 's', 'p', 'c')
if st.err then
  -- The limit changed strategy and the key holds a GCRA TAT: start over
  -- as Local does.
  if not peek then redis.call('DEL', KEYS[1]) end
  st = {false, false, false}
end
local s0, p0, c0 = tonumber(st[1]) or 0, clamp(st[2]), clamp(st[3])
local s, prev, curr, ee = s0, p0, c0, e
if s < w then
  if s + 1 == w then prev = curr else prev = 0 end
  curr = 0
  s = w
elseif s > w then
  ee = 0 -- a caller's clock behind the one that rolled: now is Start
end
local allowed = 0
if muldiv(prev, P - ee, P) + curr + cost <= rate then
  allowed = 1
end
if peek then
  -- Decided; nothing is written.
elseif allowed == 1 then
  curr = curr + cost
  redis.call('HSET', KEYS[1], 's', fmt(s), 'p', fmt(prev), 'c', fmt(curr))
  -- Curr matters until the end of the next window: Start + 2P − now.
  redis.call('PEXPIRE', KEYS[1], fmt(math.ceil(((s - w) * P + 2 * P - e) / 1000000)))
elseif st[1] and s ~= s0 then
  -- Denied, but the stored state rolled to now's window: store it as
  -- Local does (it matters when a caller's clock later runs behind), or
  -- drop it when nothing weighs any more.
  if prev > 0 then
    redis.call('HSET', KEYS[1], 's', fmt(s), 'p', fmt(prev), 'c', '0')
    redis.call('PEXPIRE', KEYS[1], fmt(math.ceil((P - e) / 1000000)))
  else
    redis.call('DEL', KEYS[1])
  end
end
return {allowed, now_hi, now_lo, s0, p0, c0}
`)
