package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lanes.
//
// Every endpoint has a lane in Redis, shared by every worker process: the
// deliveries waiting for it (scored by when they are due), the attempts in
// flight (scored by when their lease ends), and an adaptive limit on how
// many may be in flight at once. A worker takes work only from lanes with
// a free slot and a due delivery ("runnable"), so an attempt that could
// not run never holds a worker: a dead or slow endpoint fills its own lane
// and nothing else.
//
// The limit adapts as TCP's congestion window does. A new lane starts in
// slow start (one more per success) until the receiver first shows
// congestion — a timeout, a refused or reset connection, a 429 or a 503,
// whose Retry-After also pauses the lane. From then on the limit moves
// once per window of as many outcomes as the limit: down to 70 % when the
// window's share of congestion is above the receiver's background (what
// it shows even at a limit of 1 or 2, where concurrency cannot be the
// cause) by more than chance explains, at once when the window can no
// longer pass; up by one after a window of successes, slowly (every
// fourth clean window) at the limit where it last had to come down, so
// that a receiver with a hard capacity is probed seldom. Quick failures
// (a 500, a 404) count in the window as neither. A receiver that fails at
// random, whatever the load, keeps its limit; one refusing beyond its
// capacity sits at it. The limit stays between 1 and the endpoint's cap.
//
// Runnable lanes are served in turn, tenant by tenant, by start-time fair
// queueing: each tenant has a virtual time that advances by 1/weight with
// every attempt taken for it, and a worker always takes from the tenant
// with the lowest; within a tenant, lanes take turns the same way. A
// tenant that comes back from idle starts at the scheduler's current
// virtual time, so it neither jumps ahead of nor falls behind the others.
// A backlog of a million messages therefore never sits ahead of another
// tenant's fresh message: it waits its turn, one attempt at a time.
//
// A slot is held under a lease (twice the delivery timeout): a worker
// that dies mid-attempt loses its slots when their leases end, and the
// deliveries go back to waiting, due at once. Retries and postponements
// wait in their lane too, due at their time; the lane's next moment of
// interest (a due delivery, a lease ending) is kept in one timer set that
// every worker's take consults, so nothing polls lane by lane.
//
// Redis may lose all of this: PostgreSQL holds every delivery's state, and
// the sweeper admits again whatever is pending there but missing here.
//
// All keys share the hash tag {queue}, so on a Redis Cluster a queue's
// lanes live on one node and each script runs there.

// Lane defaults.
const (
	// DefaultLaneCap is the most attempts in flight to one endpoint, unless
	// the endpoint says otherwise.
	DefaultLaneCap = 64
	// laneInitialLimit is a new lane's limit: small, so that an endpoint
	// that hangs holds a handful of workers, not hundreds, before its
	// timeouts shrink it; a healthy one grows past it within a second of
	// traffic.
	laneInitialLimit = 4
	// laneIdleTTL is how long an idle lane keeps its learned limit: longer
	// than the default schedule's longest retry delay, so that a lane whose
	// deliveries wait for a far retry keeps its state.
	laneIdleTTL = 24 * time.Hour
)

// laneSignal is what an attempt tells a lane about its receiver.
type laneSignal string

// arg is s as a script argument: a constant, so that boxing it allocates
// nothing; the zero signal is signalNone.
func (s laneSignal) arg() any {
	switch s {
	case signalOK:
		return string(signalOK)
	case signalCongestion:
		return string(signalCongestion)
	case signalFail:
		return string(signalFail)
	}
	return string(signalNone)
}

const (
	signalNone       laneSignal = "none" // no attempt (postponed, or the lane was not reached)
	signalOK         laneSignal = "ok"   // a success
	signalCongestion laneSignal = "cong" // a timeout, refused or reset connection, 429 or 503
	signalFail       laneSignal = "fail" // an answer that says nothing of capacity (a quick 500, a 404)
)

// lanePrelude holds what every lane script shares. ARGV[1] is the key
// prefix ("hl:{queue}:"), ARGV[2] now (ms), ARGV[3] a lane's idle TTL (s),
// ARGV[4] a new lane's limit, ARGV[5] the default cap, ARGV[6] the lease
// (ms), ARGV[7] the script's own argument; deliveries follow from ARGV[8].
//
// A lane is a hash (e:<ep>) with its tenant t, limit lim, cap,
// pause-until ra, time it fell to 1 one (and n1 once that was reported),
// virtual time v, tenant weight w, the count of waiting deliveries q, two
// flags that mirror the sets it is in (rn: its tenant's runnable set; th:
// the throttled set), the timer tm, and the limit's learning state: ss
// (slow start is over), the current window's length wl and its outcomes
// wn, congested wc and successful wg, bg, the congestion seen at the
// lowest limits (the receiver's background failure rate), the ceiling ce
// (the limit of the last cut; 0: none) and the clean windows below it gw. The fast paths
// read one hash and write what changed, rather than probing every set. The waiting deliveries are a
// sorted set by due time (e:<ep>:w), those in flight a sorted set by lease
// end (e:<ep>:h). Timers (due) hold "tenant|endpoint" at the lane's next
// moment of interest, never later than it (a timer may fire early; the
// lane then sets the next one).
const lanePrelude = `
local P, now, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local initial, dcap, lease = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local KT, KDUE, KTV, KTC, KVC, KWAKE, KTHR = P.."T", P.."due", P.."tv", P.."tc", P.."vc", P.."wake", P.."thr"
local function lk(ep) return P.."e:"..ep end
local function wk(ep) return P.."e:"..ep..":w" end
local function hk(ep) return P.."e:"..ep..":h" end
local function xk(ep) return P.."e:"..ep..":x" end
local function tk(t) return P.."t:"..t end

-- state reads lane ep (of tenant ten) in one call, creating it when
-- missing (new, or expired) with the initial limit (or 1 when its cap is
-- not known), and applies cap and weight w when given (0: keep) and
-- different.
local function state(ep, ten, cap, w)
	local L = lk(ep)
	local r = redis.call("HMGET", L, "t", "lim", "cap", "ra", "one", "n1", "v", "w", "q", "rn", "th", "ss", "tm", "wn", "wc", "wg", "wl", "bg", "ce", "gw")
	local s = {t = r[1] or ten, lim = tonumber(r[2]), cap = tonumber(r[3]) or dcap, ra = tonumber(r[4]) or 0,
		one = r[5], n1 = r[6], v = tonumber(r[7]) or 0, w = tonumber(r[8]) or 1, q = tonumber(r[9]) or 0,
		rn = r[10] == "1", th = r[11] == "1", ss = tonumber(r[12]), tm = tonumber(r[13]) or 0,
		wn = tonumber(r[14]) or 0, wc = tonumber(r[15]) or 0, wg = tonumber(r[16]) or 0,
		wl = tonumber(r[17]), bg = tonumber(r[18]) or 0, ce = tonumber(r[19]) or 0, gw = tonumber(r[20]) or 0}
	if not s.lim then
		-- A lane made without its cap (a resend, the sweeper after a
		-- Redis loss) starts at 1: its cap may be lower than the initial
		-- limit, and the first release brings it (slow start then grows
		-- the limit by one per success).
		s.lim = 1
		if cap > 0 then s.cap, s.lim = cap, math.min(initial, cap) end
		if w > 0 then s.w = w end
		s.q = redis.call("ZCARD", wk(ep))
		redis.call("HSET", L, "t", s.t, "lim", s.lim, "cap", s.cap, "w", s.w, "q", s.q)
		redis.call("EXPIRE", L, ttl)
		return s
	end
	if (cap > 0 and cap ~= s.cap) or (w > 0 and w ~= s.w) then
		if cap > 0 then s.cap = cap end
		if w > 0 then s.w = w end
		if s.lim > s.cap then s.lim = s.cap end
		redis.call("HSET", L, "cap", s.cap, "w", s.w, "lim", s.lim)
	end
	return s
end

local function tag(s, ep) return s.t.."|"..ep end

-- setTimer sets lane ep's timer to at, or earlier than it only when force
-- is not set (a timer may be early, never late), and remembers it in tm so
-- that the fast paths need not touch the timers when theirs is earlier.
local function setTimer(ep, s, at, force)
	if force then
		redis.call("ZADD", KDUE, at, tag(s, ep))
	elseif s.tm > 0 and s.tm <= at then
		return
	else
		redis.call("ZADD", KDUE, "LT", at, tag(s, ep))
		if s.tm > 0 and s.tm < at then at = s.tm end
		-- A worker may be asleep until a later moment: wake one, to look
		-- again.
		redis.call("LPUSH", KWAKE, "1")
		redis.call("LTRIM", KWAKE, 0, 15)
	end
	s.tm = at
	redis.call("HSET", lk(ep), "tm", at)
end

local function clearTimer(ep, s)
	redis.call("ZREM", KDUE, tag(s, ep))
	if s.tm ~= 0 then
		s.tm = 0
		redis.call("HSET", lk(ep), "tm", 0)
	end
end

-- enqueue puts id into lane ep's waiting set, due at due.
local function enqueue(ep, s, id, due)
	if redis.call("ZADD", wk(ep), due, id) == 1 then
		s.q = s.q + 1
		redis.call("HSET", lk(ep), "q", s.q)
	end
end

-- reap returns the expired leases of lane ep to waiting, due now.
local function reap(ep, s)
	local exp = redis.call("ZRANGEBYSCORE", hk(ep), "-inf", now)
	for _, id in ipairs(exp) do
		redis.call("ZREM", hk(ep), id)
		enqueue(ep, s, id, now)
	end
end

-- refresh recomputes, after a change to lane ep's waiting deliveries or
-- its limit, whether it is runnable (a free slot and a due delivery, not
-- paused) and full with deliveries waiting (throttled), keeps its
-- tenant's turn and the tenants' turns in step, and sets its timer.
-- timer says the lane's timer fired and must be moved on; freed that a
-- slot came free, so that a runnable lane needs a worker to look again.
local function refresh(ep, s, timer, held, freed)
	held = held or redis.call("ZCARD", hk(ep))
	local runnable, at = false, nil
	if s.q > 0 and held < s.lim then
		local first = redis.call("ZRANGE", wk(ep), 0, 0, "WITHSCORES")
		if first[2] then
			local due = math.max(tonumber(first[2]), s.ra)
			if due <= now then runnable = true else at = due end
		end
	end
	if s.q > 0 and held >= s.lim and s.ra > now then at = s.ra end
	if timer and held > 0 then
		local l = redis.call("ZRANGE", hk(ep), 0, 0, "WITHSCORES")
		local exp = tonumber(l[2])
		if not at or exp < at then at = exp end
	end
	if at then
		setTimer(ep, s, at, timer)
	elseif timer or (held == 0 and s.q == 0) then
		clearTimer(ep, s)
	end
	local th = s.q > 0 and held >= s.lim
	if th then
		redis.call("ZADD", KTHR, s.q, ep)
		redis.call("ZADD", KTHR..":"..s.t, s.q, ep)
	elseif s.th then
		redis.call("ZREM", KTHR, ep)
		redis.call("ZREM", KTHR..":"..s.t, ep)
	end
	local tkey = tk(s.t)
	if runnable and not s.rn then
		-- The lane joins its tenant's turns at the tenant's current
		-- virtual time (the lowest of its runnable lanes, or where the
		-- last one left), and the tenant the tenants' turns at theirs.
		local v = s.v
		local m = redis.call("ZRANGE", tkey, 0, 0, "WITHSCORES")
		local c = tonumber(m[2]) or tonumber(redis.call("HGET", KTC, s.t)) or 0
		if c > v then v = c end
		redis.call("ZADD", tkey, v, ep)
		if not m[1] then
			local tv = tonumber(redis.call("HGET", KTV, s.t)) or 0
			local g = redis.call("ZRANGE", KT, 0, 0, "WITHSCORES")
			local vc = tonumber(g[2]) or tonumber(redis.call("GET", KVC)) or 0
			if vc > tv then tv = vc end
			redis.call("ZADD", KT, tv, s.t)
		end
		redis.call("LPUSH", KWAKE, "1")
		redis.call("LTRIM", KWAKE, 0, 15)
	elseif runnable and freed then
		redis.call("LPUSH", KWAKE, "1")
		redis.call("LTRIM", KWAKE, 0, 15)
	elseif not runnable and s.rn then
		local lv = redis.call("ZSCORE", tkey, ep)
		if lv then
			s.v = tonumber(lv)
			redis.call("HSET", lk(ep), "v", s.v)
			redis.call("ZREM", tkey, ep)
			if redis.call("ZCARD", tkey) == 0 then
				-- The tenant leaves the turns: remember where it and its
				-- lanes' clock stood.
				redis.call("HSET", KTC, s.t, s.v)
				local tv = redis.call("ZSCORE", KT, s.t)
				if tv then
					redis.call("HSET", KTV, s.t, tv)
					redis.call("ZREM", KT, s.t)
					if redis.call("ZCARD", KT) == 0 then redis.call("SET", KVC, tv) end
				end
			end
		end
	end
	if runnable ~= s.rn or th ~= s.th then
		s.rn, s.th = runnable, th
		redis.call("HSET", lk(ep), "rn", runnable and "1" or "0", "th", th and "1" or "0")
	end
	if held > 0 or s.q > 0 then redis.call("EXPIRE", lk(ep), ttl) end
end

-- hold takes a slot of lane ep for id until the lease ends.
local function hold(ep, s, id)
	redis.call("ZADD", hk(ep), now + lease, id)
	setTimer(ep, s, now + lease, false)
end
`

// laneAdmitScript admits deliveries into their lanes: 9 per delivery from
// ARGV[8]: id, endpoint, tenant, due (ms), local (1 when this process has
// a worker free to run it now), cap (0: keep), tenant weight (0: keep),
// what goes with it to whichever worker takes it (request id and trace
// context; "" for nothing), and check (1: it may be there already, look
// first). It returns per delivery "r" (run it now: its slot is held), "q"
// (queued in its lane) or "d" (already there).
//
// The fast path — a fresh delivery, due now, to a lane with nothing
// waiting and a free slot — reads the lane and its slot count and holds a
// slot: four commands.
var laneAdmitScript = redis.NewScript(lanePrelude + `
local out = {}
for i = 8, #ARGV, 9 do
	local id, ep, ten = ARGV[i], ARGV[i+1], ARGV[i+2]
	local due, here, cap, w, meta, check = tonumber(ARGV[i+3]), ARGV[i+4], tonumber(ARGV[i+5]), tonumber(ARGV[i+6]), ARGV[i+7], ARGV[i+8]
	local s = state(ep, ten, cap, w)
	if check == "1" then reap(ep, s) end
	if check == "1" and (redis.call("ZSCORE", hk(ep), id) or redis.call("ZSCORE", wk(ep), id)) then
		out[#out+1] = "d"
	elseif here == "1" and s.q == 0 and due <= now and s.ra <= now and redis.call("ZCARD", hk(ep)) < s.lim then
		hold(ep, s, id)
		out[#out+1] = "r"
	else
		enqueue(ep, s, id, due)
		if meta ~= "" then redis.call("HSET", xk(ep), id, meta) end
		refresh(ep, s, false)
		out[#out+1] = "q"
	end
end
return out`)

// laneTakeScript first attends to the lanes whose timer has fired (leases
// ended, deliveries due), then takes up to ARGV[7] deliveries in fair
// order, holding a slot for each. It returns {id, endpoint, tenant, what
// went with it, …}, the next moment any lane needs attention ("" for
// none), and how many tenants still have runnable work.
var laneTakeScript = redis.NewScript(lanePrelude + `
local n = tonumber(ARGV[7])
local fired = redis.call("ZRANGEBYSCORE", KDUE, "-inf", now, "LIMIT", 0, 256)
for _, te in ipairs(fired) do
	local sep = string.find(te, "|", 1, true)
	local ep = string.sub(te, sep + 1)
	local s = state(ep, string.sub(te, 1, sep - 1), 0, 0)
	reap(ep, s)
	refresh(ep, s, true)
end
local out = {}
local guard = 0
while #out < 4 * n and guard < 4 * n + 64 do
	guard = guard + 1
	local t = redis.call("ZRANGE", KT, 0, 0, "WITHSCORES")
	if not t[1] then break end
	local ten, tv = t[1], tonumber(t[2])
	local tkey = tk(ten)
	local l = redis.call("ZRANGE", tkey, 0, 0, "WITHSCORES")
	if not l[1] then
		redis.call("ZREM", KT, ten)
	else
		local ep, lv = l[1], tonumber(l[2])
		local s = state(ep, ten, 0, 0)
		local item = redis.call("ZRANGEBYSCORE", wk(ep), "-inf", now, "LIMIT", 0, 1)
		local held = redis.call("ZCARD", hk(ep))
		if item[1] and held < s.lim and s.ra <= now then
			redis.call("ZREM", wk(ep), item[1])
			s.q = s.q - 1
			hold(ep, s, item[1])
			out[#out+1] = item[1]
			out[#out+1] = ep
			out[#out+1] = ten
			local meta = redis.call("HGET", xk(ep), item[1])
			if meta then redis.call("HDEL", xk(ep), item[1]) end
			out[#out+1] = meta or ""
			-- Each turn advances the tenant's virtual time by 1/weight and
			-- the lane's by 1.
			redis.call("ZADD", KT, tv + 1 / math.max(s.w, 1), ten)
			redis.call("ZADD", tkey, lv + 1, ep)
			redis.call("HSET", lk(ep), "q", s.q)
			refresh(ep, s, false, held + 1)
		else
			-- Not runnable after all (its flags were stale): out of the turn.
			redis.call("ZREM", tkey, ep)
			if redis.call("ZCARD", tkey) == 0 then redis.call("ZREM", KT, ten) end
			s.rn = false
			redis.call("HSET", lk(ep), "rn", "0")
			refresh(ep, s, false)
		end
	end
end
local nx = redis.call("ZRANGE", KDUE, 0, 0, "WITHSCORES")
return {out, nx[2] or "", redis.call("ZCARD", KT)}`)

// laneReleaseScript frees the slots of finished attempts, adapts their
// lanes' limits, and puts deliveries with a next attempt back to waiting.
// ARGV[7] is how long (ms) a lane may sit at 1 before it is reported, then
// 7 per attempt from ARGV[8]: id, endpoint, tenant, next (ms; 0: done),
// signal, pause until (ms; 0: none), cap (0: keep). It
// returns {endpoint, tenant, at-1-since, …} for lanes to report as
// throttled (once per stretch at 1).
//
// The fast path — a success, nothing waiting in the lane — frees the slot,
// reads the lane and writes its counters: three commands.
var laneReleaseScript = redis.NewScript(lanePrelude + `
local after = tonumber(ARGV[7])
local out = {}
-- cut is the limit after a decrease from lim.
local function cut(lim) return math.max(1, math.floor(lim * 0.7 + 0.5)) end
-- thresh is the share of congestion a window of n outcomes may show
-- before it cuts: the background plus a margin that widens for short
-- windows (one standard deviation of the window's share), so that chance
-- alone seldom cuts, between 25 % and 90 % (so that a receiver that is
-- simply down, all congestion learnt as its background, still comes down).
local function thresh(s, n)
	return math.min(math.max(s.bg + 0.15 + math.sqrt(s.bg * (1 - s.bg) / n), 0.25), 0.9)
end
for i = 8, #ARGV, 7 do
	local id, ep, ten = ARGV[i], ARGV[i+1], ARGV[i+2]
	local nxt, sig, ra, cap = tonumber(ARGV[i+3]), ARGV[i+4], tonumber(ARGV[i+5]), tonumber(ARGV[i+6])
	redis.call("ZREM", hk(ep), id)
	local s = state(ep, ten, cap, 0)
	local L = lk(ep)
	local lim, changed, learnt = s.lim, false, false
	if sig == "ok" or sig == "cong" or sig == "fail" then
		if not s.ss then
			-- Slow start: one more per success, until the first sign of
			-- congestion ends it.
			if sig == "ok" then lim = lim + 1 end
			if sig == "cong" then
				s.ss, s.ce = 1, lim
				lim = cut(lim)
				s.wn, s.wc, s.wg, s.wl, s.gw = 0, 0, 0, lim, 0
				learnt = true
			end
		else
			learnt = true
			s.wn = s.wn + 1
			if sig == "cong" then s.wc = s.wc + 1 end
			if sig == "ok" then s.wg = s.wg + 1 end
			local wl = s.wl or lim
			-- Probing: at or above the limit of the last cut, one
			-- congestion more than the background explains cuts.
			local probing = s.ce > 0 and lim >= s.ce
			-- Early: the window has already shown more congestion than it
			-- may (above a limit of 2: below, windows are short anyway).
			local early = sig == "cong" and lim > 2 and
				(s.wc > thresh(s, wl) * wl or (probing and s.wc > s.bg * wl + 0.5))
			if early or s.wn >= wl then
				local f, g = s.wc / s.wn, s.wg / s.wn
				local thr = thresh(s, s.wn)
				local down = early or f > thr
				-- The background is what windows that did not cut show,
				-- and every window at 1 or 2.
				if lim <= 2 or not down then s.bg = s.bg * 0.7 + f * 0.3 end
				if down then
					s.ce, s.gw = lim, 0
					lim = cut(lim)
				elseif g >= 1 - thr then
					if s.ce > 2 and lim + 1 >= s.ce and s.gw < 3 then
						-- Below the ceiling: probe it every fourth clean
						-- window only (a receiver with a hard capacity
						-- sees one refusal per probe).
						s.gw = s.gw + 1
					else
						lim, s.gw = lim + 1, 0
						if lim > s.ce then s.ce = 0 end
					end
				end
				s.wn, s.wc, s.wg, s.wl = 0, 0, 0, lim
			end
		end
		if sig == "cong" and ra > s.ra then
			-- A Retry-After pauses the lane and is itself a cut (once).
			s.ra = ra
			if lim >= s.lim then lim = cut(s.lim) end
			changed, learnt = true, true
		end
	end
	if lim > s.cap then lim = s.cap end
	if lim < 1 then lim = 1 end
	if lim ~= s.lim then changed = true end
	s.lim = lim
	-- One write of what moved: nothing, at the cap in slow start.
	if learnt then
		redis.call("HSET", L, "lim", lim, "ss", s.ss or "", "wn", s.wn, "wc", s.wc, "wg", s.wg, "wl", s.wl or lim, "bg", s.bg, "ra", s.ra,
			"ce", s.ce, "gw", s.gw)
	elseif changed then
		redis.call("HSET", L, "lim", lim)
	end
	if lim == 1 and s.cap > 1 then
		if not s.one then
			redis.call("HSET", L, "one", now)
		elseif now - tonumber(s.one) >= after and s.n1 ~= s.one then
			redis.call("HSET", L, "n1", s.one)
			out[#out+1] = ep
			out[#out+1] = s.t
			out[#out+1] = s.one
		end
	elseif s.one then
		redis.call("HDEL", L, "one", "n1")
	end
	if nxt > 0 then
		enqueue(ep, s, id, nxt)
	elseif s.q > 0 or s.rn or s.th then
		redis.call("HDEL", xk(ep), id)
	end
	if nxt > 0 or s.q > 0 or s.rn or s.th or changed then refresh(ep, s, false, nil, true) end
end
return out`)

// lanePresentScript reports which deliveries are in no lane (neither
// waiting nor in flight under a live lease): 2 per delivery from ARGV[8]
// (endpoint, id); it returns the 1-based positions of the missing ones.
var lanePresentScript = redis.NewScript(lanePrelude + `
local out = {}
local k = 0
for i = 8, #ARGV, 2 do
	k = k + 1
	local ep, id = ARGV[i], ARGV[i+1]
	local exp = redis.call("ZSCORE", hk(ep), id)
	if not (exp and tonumber(exp) > now) and not redis.call("ZSCORE", wk(ep), id) then
		out[#out+1] = k
	end
end
return out`)

// laneItem is a delivery taken from its lane: its slot is held until it is
// released.
type laneItem struct {
	ID         int64
	EndpointID string
	TenantID   string
	// Meta is what the admitting process sent along (metaOf).
	Meta string
}

// admitOp admits one delivery into its lane.
type admitOp struct {
	ID         int64
	EndpointID string
	TenantID   string
	Due        time.Time
	// Local asks for the slot now, for this process to run the attempt at
	// once (it has a worker free).
	Local bool
	// Cap is the endpoint's lane cap (0: keep the lane's).
	Cap int
	// Weight is the tenant's share (0: keep).
	Weight int
	// Meta goes with the delivery to whichever worker takes it (metaOf).
	Meta string
	// Check asks to look whether it is in its lane already (the sweeper's
	// admissions race with the normal path's; fresh deliveries need not).
	Check bool
}

// releaseOp frees the slot of one finished attempt (or of a delivery that
// was postponed without an attempt).
type releaseOp struct {
	Item laneItem
	// AppID is for the report of a throttled lane.
	AppID string
	// Next is when the delivery is due again; zero means it is done.
	Next   time.Time
	Signal laneSignal
	// PauseUntil is a Retry-After: no new attempt to the endpoint before.
	PauseUntil time.Time
	// Cap is the endpoint's lane cap from its configuration (0: keep).
	Cap int
}

// throttledLane is a lane that has sat at a limit of 1 for
// lanes.throttledAfter.
type throttledLane struct {
	EndpointID, TenantID, AppID string
	Since                       time.Time
}

// lanes is the Redis side of the lanes of one queue. Safe for concurrent
// use.
type lanes struct {
	rc        redis.UniversalClient
	prefix    string
	prefixArg any // prefix, boxed once for every script call
	lease     time.Duration
	cap       int
	// throttledAfter is how long a lane must sit at a limit of 1 (below
	// its cap) before release reports it.
	throttledAfter time.Duration
	now            func() time.Time
}

func newLanes(rc redis.UniversalClient, queue string, lease time.Duration) *lanes {
	prefix := "hl:{" + queue + "}:"
	return &lanes{rc: rc, prefix: prefix, prefixArg: prefix, lease: lease, cap: DefaultLaneCap,
		throttledAfter: DefaultThrottledAfter, now: time.Now}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// laneCap is the cap to tell a lane for an endpoint whose configured cap
// is c (0: none, the default). Lane scripts read 0 as "not known here",
// so callers that know the endpoint must say the default out loud.
func laneCap(c int) int {
	if c <= 0 {
		return DefaultLaneCap
	}
	return c
}

// laneArgs are a lane script's arguments. go-redis writes a *string or
// an *int64 as the value it points to, so the arguments point into two
// arrays allocated once per call rather than each being boxed into an
// interface of its own (several allocations per delivery otherwise).
type laneArgs struct {
	v    []any
	strs []string
	nums []int64
}

func (a *laneArgs) str(s string) {
	// A full array is replaced, not overwritten: arguments already taken
	// keep pointing at their values.
	a.strs = append(a.strs, s)
	a.v = append(a.v, &a.strs[len(a.strs)-1])
}

func (a *laneArgs) num(n int64) {
	a.nums = append(a.nums, n)
	a.v = append(a.v, &a.nums[len(a.nums)-1])
}

// args are the prelude's arguments (see lanePrelude) and the script's own,
// with room for strs strings and nums numbers more (args more in all).
func (l *lanes) args(own any, args, strs, nums int) *laneArgs {
	a := &laneArgs{v: make([]any, 0, 7+args), strs: make([]string, 0, strs), nums: make([]int64, 0, 2+nums)}
	a.v = append(a.v, l.prefixArg)
	a.num(ms(l.now()))
	a.v = append(a.v, int64(laneIdleTTL/time.Second), laneInitialLimit)
	a.num(int64(l.cap))
	a.num(l.lease.Milliseconds())
	a.v = append(a.v, own)
	return a
}

// key is the one declared key of a lane script: it routes the script to
// the node holding the queue's hash tag.
func (l *lanes) key() []string { return []string{l.prefix + "T"} }

// admit puts deliveries into their lanes and reports, per delivery,
// whether this process should run it now (its slot is held).
func (l *lanes) admit(ctx context.Context, ops []admitOp) ([]bool, error) {
	run := make([]bool, len(ops))
	for start := 0; start < len(ops); start += maxLaneBatch {
		chunk := ops[start:min(start+maxLaneBatch, len(ops))]
		args := l.args("", 9*len(chunk), 3*len(chunk), 4*len(chunk))
		for _, o := range chunk {
			local, check := "0", "0"
			if o.Local {
				local = "1"
			}
			if o.Check {
				check = "1"
			}
			args.num(o.ID)
			args.str(o.EndpointID)
			args.str(o.TenantID)
			args.num(ms(o.Due))
			args.v = append(args.v, local)
			args.num(int64(o.Cap))
			args.num(int64(o.Weight))
			args.str(o.Meta)
			args.v = append(args.v, check)
		}
		res, err := runScript(ctx, l.rc, laneAdmitScript, l.key(), args.v)
		if err != nil {
			return run, fmt.Errorf("admit %d deliveries: %w", len(chunk), err)
		}
		codes, err := res.StringSlice()
		if err != nil || len(codes) != len(chunk) {
			return run, fmt.Errorf("admit %d deliveries: unexpected answer %v (%v)", len(chunk), res.Val(), err)
		}
		for i, c := range codes {
			run[start+i] = c == "r"
		}
	}
	return run, nil
}

// take holds slots for up to n runnable deliveries, in fair order. next is
// when some lane next needs attention (zero: none); more is whether
// runnable work remains after this take.
func (l *lanes) take(ctx context.Context, n int) (items []laneItem, next time.Time, more bool, err error) {
	res, err := runScript(ctx, l.rc, laneTakeScript, l.key(), l.args(n, 0, 0, 0).v)
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("take deliveries: %w", err)
	}
	parts, ok := res.Val().([]any)
	if !ok || len(parts) != 3 {
		return nil, time.Time{}, false, fmt.Errorf("take deliveries: unexpected answer %v", res.Val())
	}
	flat, _ := parts[0].([]any)
	for i := 0; i+3 < len(flat); i += 4 {
		idStr, _ := flat[i].(string)
		ep, _ := flat[i+1].(string)
		ten, _ := flat[i+2].(string)
		meta, _ := flat[i+3].(string)
		id, err := strconv.ParseInt(idStr, 10, 64)
		if err != nil {
			continue
		}
		items = append(items, laneItem{ID: id, EndpointID: ep, TenantID: ten, Meta: meta})
	}
	if s, _ := parts[1].(string); s != "" {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			next = time.UnixMilli(int64(f))
		}
	}
	m, _ := parts[2].(int64)
	return items, next, m > 0, nil
}

// release frees the slots of finished attempts in one round trip per
// maxLaneBatch and returns the lanes to report as throttled.
func (l *lanes) release(ctx context.Context, ops []releaseOp) ([]throttledLane, error) {
	var out []throttledLane
	for start := 0; start < len(ops); start += maxLaneBatch {
		chunk := ops[start:min(start+maxLaneBatch, len(ops))]
		args := l.args(l.throttledAfter.Milliseconds(), 7*len(chunk), 2*len(chunk), 4*len(chunk))
		for _, o := range chunk {
			var next, pause int64
			if !o.Next.IsZero() {
				next = max(ms(o.Next), 1)
			}
			if !o.PauseUntil.IsZero() {
				pause = ms(o.PauseUntil)
			}
			args.num(o.Item.ID)
			args.str(o.Item.EndpointID)
			args.str(o.Item.TenantID)
			args.num(next)
			args.v = append(args.v, o.Signal.arg())
			args.num(pause)
			args.num(int64(o.Cap))
		}
		res, err := runScript(ctx, l.rc, laneReleaseScript, l.key(), args.v)
		if err != nil {
			return out, fmt.Errorf("release %d attempts: %w", len(chunk), err)
		}
		flat, _ := res.Val().([]any)
		for i := 0; i+2 < len(flat); i += 3 {
			ep, _ := flat[i].(string)
			ten, _ := flat[i+1].(string)
			since, _ := flat[i+2].(string)
			at, _ := strconv.ParseInt(since, 10, 64)
			out = append(out, throttledLane{EndpointID: ep, TenantID: ten, AppID: appOf(chunk, ep), Since: time.UnixMilli(at)})
		}
	}
	return out, nil
}

// appOf returns the application of the lane of endpoint ep among ops (a
// throttled lane is rare: a scan, rather than a map built for every call).
func appOf(ops []releaseOp, ep string) string {
	app := ""
	for _, o := range ops {
		if o.Item.EndpointID == ep {
			app = o.AppID // the last, as a map written in order would keep
		}
	}
	return app
}

// missing returns the positions in refs of deliveries that are in no lane
// (neither waiting nor in flight), checked in one round trip per
// maxLaneBatch.
func (l *lanes) missing(ctx context.Context, endpoints []string, ids []int64) ([]int, error) {
	var out []int
	for start := 0; start < len(ids); start += maxLaneBatch {
		end := min(start+maxLaneBatch, len(ids))
		args := l.args("", 2*(end-start), end-start, end-start)
		for i := start; i < end; i++ {
			args.str(endpoints[i])
			args.num(ids[i])
		}
		res, err := runScript(ctx, l.rc, lanePresentScript, l.key(), args.v)
		if err != nil {
			return nil, fmt.Errorf("check lanes: %w", err)
		}
		pos, err := res.Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("check lanes: %w", err)
		}
		for _, p := range pos {
			out = append(out, start+int(p)-1)
		}
	}
	return out, nil
}

// wait blocks until a lane becomes runnable somewhere (another process, or
// a script of this one, pushed a wake-up), or for at most d. It reports
// whether it was woken.
func (l *lanes) wait(ctx context.Context, d time.Duration) (bool, error) {
	if d < time.Millisecond {
		return false, nil
	}
	d = min(d, maxBlock)
	var err error
	if d >= time.Second {
		// go-redis's BLPop gives the connection a read timeout of the
		// wait plus 10 s (a plain Do would keep the client's 3 s and end a
		// longer wait that is still legitimately blocked); it counts in
		// whole seconds, so the wait is cut down to a whole number of them.
		err = l.rc.BLPop(ctx, d.Truncate(time.Second), l.prefix+"wake").Err()
	} else {
		// Shorter waits in fractional seconds (Redis 6), which BLPop
		// would round up to a whole one.
		err = l.rc.Do(ctx, "BLPOP", l.prefix+"wake", strconv.FormatFloat(d.Seconds(), 'f', 3, 64)).Err()
	}
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// wakeOthers leaves a wake-up for another process: this one has runnable
// work left over and no worker free for it.
func (l *lanes) wakeOthers(ctx context.Context) {
	pipe := l.rc.Pipeline()
	pipe.LPush(ctx, l.prefix+"wake", "1")
	pipe.LTrim(ctx, l.prefix+"wake", 0, 15)
	_, _ = pipe.Exec(ctx)
}

// maxBlock bounds one blocking wait for a wake-up: how long an idle worker
// sleeps when no lane has a moment coming. Each wait that ends costs a
// take (a script and a few reads), so it sets most of an idle process's
// Redis traffic; a lane's moments (a delivery due, a lease ending) end a
// wait sooner, and work admitted anywhere pushes a wake-up.
const maxBlock = 5 * time.Second

// maxLaneBatch bounds one lane script's size.
const maxLaneBatch = 500

// runScript runs script by its hash; a Redis that does not know the script
// yet (first use, or a restart) is taught it once.
func runScript(ctx context.Context, rc redis.UniversalClient, script *redis.Script, keys []string, args []any) (*redis.Cmd, error) {
	res := script.EvalSha(ctx, rc, keys, args...)
	if err := res.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		res = script.Eval(ctx, rc, keys, args...)
	}
	if err := res.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	return res, nil
}

// laneThrottledScript lists the lanes that are full with deliveries
// waiting (of one tenant when ARGV[7] is not ""), most waiting first, at
// most ARGV[8]: {endpoint, tenant, in flight, limit, cap, waiting,
// at-1-since, …}, and how many there are in all.
var laneThrottledScript = redis.NewScript(lanePrelude + `
local key = KTHR
if ARGV[7] ~= "" then key = KTHR..":"..ARGV[7] end
local eps = redis.call("ZREVRANGE", key, 0, tonumber(ARGV[8]) - 1)
local out = {}
for _, ep in ipairs(eps) do
	local st = redis.call("HMGET", lk(ep), "t", "lim", "cap", "one")
	out[#out+1] = ep
	out[#out+1] = st[1] or ""
	out[#out+1] = redis.call("ZCARD", hk(ep))
	out[#out+1] = tonumber(st[2]) or 0
	out[#out+1] = tonumber(st[3]) or 0
	out[#out+1] = redis.call("ZCARD", wk(ep))
	out[#out+1] = st[4] or ""
end
-- The deliveries parked in every full lane (each lane's count as of its
-- last change), over at most 10,000 lanes.
local parked = 0
local all = redis.call("ZREVRANGE", key, 0, 9999, "WITHSCORES")
for i = 2, #all, 2 do parked = parked + tonumber(all[i]) end
return {out, redis.call("ZCARD", key), parked}`)

// LaneState is a lane as an operator sees it.
type LaneState struct {
	EndpointID, TenantID string
	// InFlight is how many attempts hold a slot; Limit what the lane
	// allows now, Cap the most it ever allows.
	InFlight, Limit, Cap int
	// Waiting is how many deliveries wait for a slot or their time.
	Waiting int
	// AtOneSince, when set, is when the limit fell to 1 (below the cap).
	AtOneSince *time.Time
}

// ThrottledLanes are the lanes that are full with deliveries waiting (the
// receiver is held to its limit): how many, how many deliveries are
// parked in them, and the top ones by deliveries waiting.
type ThrottledLanes struct {
	Total  int
	Parked int
	Top    []LaneState
}

// throttled returns up to k full lanes with deliveries waiting, of
// tenantID ("" for all), most waiting first, and how many there are.
func (l *lanes) throttled(ctx context.Context, tenantID string, k int) (ThrottledLanes, error) {
	var out ThrottledLanes
	res, err := runScript(ctx, l.rc, laneThrottledScript, l.key(), append(l.args(tenantID, 1, 0, 0).v, k))
	if err != nil {
		return out, fmt.Errorf("list throttled lanes: %w", err)
	}
	parts, ok := res.Val().([]any)
	if !ok || len(parts) != 3 {
		return out, fmt.Errorf("list throttled lanes: unexpected answer %v", res.Val())
	}
	num := func(v any) int {
		switch x := v.(type) {
		case int64:
			return int(x)
		case string:
			n, _ := strconv.Atoi(x)
			return n
		}
		return 0
	}
	flat, _ := parts[0].([]any)
	for i := 0; i+6 < len(flat); i += 7 {
		st := LaneState{Limit: num(flat[i+3]), Cap: num(flat[i+4]), InFlight: num(flat[i+2]), Waiting: num(flat[i+5])}
		st.EndpointID, _ = flat[i].(string)
		st.TenantID, _ = flat[i+1].(string)
		if s, _ := flat[i+6].(string); s != "" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				t := time.UnixMilli(n).UTC()
				st.AtOneSince = &t
			}
		}
		out.Top = append(out.Top, st)
	}
	out.Total, out.Parked = num(parts[1]), num(parts[2])
	return out, nil
}
