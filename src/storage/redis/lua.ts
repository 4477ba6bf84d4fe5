/**
 * The Lua of the Redis backends' four scripts (see `scripts.ts` for the keys and the replies'
 * reading): the publish (with the check of what storage acknowledged, and the repair after a
 * loss), the read, the two in one request, and the retirement's compare-and-set.
 * @module
 */

const CHUNK = 500; // field pairs per HSET: Lua's unpack has a stack limit

/**
 * The publish, in one script. ARGV: 1 id, 2 `heartbeat|exited`, 3 TTL, 4 descriptor count, 5 the
 * heartbeat storage acknowledged last ('' for none), 6 and 7 whether series and descriptors were
 * acknowledged ('1'), 8 replace ('1'), 9 the retired version the process knows, 10-13 the
 * restoration's counts (retired pairs or -1, the retired version it was read at, descriptor pairs,
 * processes), 14 whether
 * a retired total was acknowledged ('1': both its copies must exist), 15 the heartbeat of a later
 * publish whose answer was lost (the record may carry it: it landed); then the
 * descriptor pairs, the restoration's retired pairs, descriptor pairs and processes (id, meta,
 * count, pairs), and last the series pairs.
 * When storage no longer holds what it acknowledged (the record with that heartbeat, the series
 * hash, the descriptors, the retired total), it answers `lost` and writes nothing. A replace deletes the process's
 * series first, puts back the restoration where nothing stands in its place, and sets a new loss
 * epoch (`<base>:epoch`): every other process that sees it change sends its descriptors again,
 * since the descriptors hash they share may have lost some of theirs.
 * The reply: `ok`, the retired version, whether the retired total and how many processes were put
 * back, the loss epoch, and (when `total` and the version is not the one the process knows) '1'
 * and the retired total, its copy and the descriptors.
 */
const publishBody = (total: boolean) => `
if redis.call('EXISTS', KEYS[4]) == 1 then return {'retired', redis.call('HGETALL', KEYS[4])} end
local function hset(key, from, to)
  local i = from
  while i <= to do
    local last = math.min(i + ${CHUNK * 2} - 1, to)
    redis.call('HSET', key, unpack(ARGV, i, last))
    i = last + 1
  end
end
local replace = ARGV[8] == '1'
if ARGV[5] ~= '' and not replace then
  local meta = redis.call('HGET', KEYS[1], ARGV[1])
  local stored = meta and string.sub(meta, 1, (string.find(meta, '|', 1, true) or 0) - 1)
  if not meta or (stored ~= ARGV[5] and stored ~= ARGV[15]) then return {'lost', 'record'} end
  if ARGV[6] == '1' and redis.call('EXISTS', KEYS[2]) == 0 then return {'lost', 'series'} end
  if ARGV[7] == '1' and redis.call('EXISTS', KEYS[3]) == 0 then return {'lost', 'descriptors'} end
  if ARGV[14] == '1' and redis.call('EXISTS', KEYS[5]) == 0 and redis.call('EXISTS', KEYS[7]) == 0 then
    return {'lost', 'retired'}
  end
end
local ttl = tonumber(ARGV[3])
local nd, nr, nrd, np = tonumber(ARGV[4]), tonumber(ARGV[10]), tonumber(ARGV[12]), tonumber(ARGV[13])
local i = 16 + nd * 2
local restoredTotal, restoredProcs = 0, 0
if replace then
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[8], ARGV[1] .. '@' .. ARGV[2])
  if nr > 0 and redis.call('EXISTS', KEYS[5]) == 0 and redis.call('EXISTS', KEYS[7]) == 0 then
    hset(KEYS[5], i, i + nr * 2 - 1)
    hset(KEYS[7], i, i + nr * 2 - 1)
    redis.call('SETNX', KEYS[6], ARGV[11])
    restoredTotal = 1
  end
end
i = i + math.max(nr, 0) * 2
if replace then for j = i, i + nrd * 2 - 1, 2 do redis.call('HSETNX', KEYS[3], ARGV[j], ARGV[j + 1]) end end
i = i + nrd * 2
local base = string.sub(KEYS[1], 1, -7)
-- Other processes go back only with the retired total they were read with.
local sameTotal = restoredTotal == 1 or (redis.call('GET', KEYS[6]) or '0') == ARGV[11]
for p = 1, np do
  local pid, ns = ARGV[i], tonumber(ARGV[i + 2])
  local series = base .. ':series:' .. pid
  if replace and sameTotal and redis.call('HEXISTS', KEYS[1], pid) == 0 and redis.call('EXISTS', series) == 0
    and redis.call('EXISTS', base .. ':tomb:' .. pid) == 0 then
    redis.call('HSET', KEYS[1], pid, ARGV[i + 1])
    hset(series, i + 3, i + 2 + ns * 2)
    if ttl > 0 then redis.call('PEXPIRE', series, ttl) end
    restoredProcs = restoredProcs + 1
  end
  i = i + 3 + ns * 2
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
hset(KEYS[3], 16, 15 + nd * 2)
hset(KEYS[2], i, #ARGV)
if ttl > 0 then
  for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], ttl) end
  for k = 5, 8 do redis.call('PEXPIRE', KEYS[k], ttl) end
end
local version = redis.call('GET', KEYS[6]) or '0'
local reply = {'ok', version, restoredTotal, restoredProcs, redis.call('GET', KEYS[8]) or '', '0'}
${
  total
    ? `if ARGV[9] ~= version then
  reply[6] = '1'
  reply[7] = redis.call('HGETALL', KEYS[5])
  reply[8] = redis.call('HGETALL', KEYS[7])
  reply[9] = redis.call('HGETALL', KEYS[3])
end`
    : ""
}`;

export const PUBLISH = `${publishBody(true)}
return reply`;

/** The read, over the given keys: descriptors, retired total, version, processes, copy, each process's series. */
const readBody = (procs: string, desc: string, retired: string, version: string, copy: string, prefix: string) => `
local procs = redis.call('HGETALL', ${procs})
local out = {redis.call('HGETALL', ${desc}), redis.call('HGETALL', ${retired}), redis.call('GET', ${version}) or '0', procs, redis.call('HGETALL', ${copy})}
for i = 1, #procs, 2 do out[#out + 1] = redis.call('HGETALL', ${prefix} .. ':series:' .. procs[i]) end`;

export const READ = `${readBody("KEYS[1]", "KEYS[2]", "KEYS[3]", "KEYS[4]", "KEYS[5]", "ARGV[1]")}
return out`;

// A scrape's own publish and its read in one request: the publish, then the read of the result
// (which holds the retired total, so the publish's reply does not carry it).
export const PUBLISH_READ = `${publishBody(false)}
${readBody("KEYS[1]", "KEYS[3]", "KEYS[5]", "KEYS[6]", "KEYS[7]", "base")}
reply[7] = out
return reply`;

export const RETIRE = `
if tonumber(redis.call('GET', KEYS[3]) or '0') ~= tonumber(ARGV[2]) then return 0 end
local n = tonumber(ARGV[4])
for j = 0, n - 1 do
  local current = redis.call('HGET', KEYS[1], ARGV[5 + j * 2])
  if not current then return 0 end
  if string.sub(current, 1, string.find(current, '|', 1, true) - 1) ~= ARGV[6 + j * 2] then return 0 end
end
for j = 0, n - 1 do
  local id = ARGV[5 + j * 2]
  local series, tomb = ARGV[1] .. ':series:' .. id, ARGV[1] .. ':tomb:' .. id
  if redis.call('EXISTS', series) == 1 then redis.call('RENAME', series, tomb) else redis.call('HSET', tomb, '__empty', '1') end
  redis.call('PEXPIRE', tomb, tonumber(ARGV[3]))
  redis.call('HDEL', KEYS[1], id)
end
-- A copy lost whole (evicted, deleted) is rebuilt from the other before the updates, so that the
-- series this retirement does not touch stay in two copies.
local function copyInto(from, to)
  if redis.call('EXISTS', to) == 1 or redis.call('EXISTS', from) == 0 then return end
  local all = redis.call('HGETALL', from)
  for k = 1, #all, ${CHUNK * 2} do redis.call('HSET', to, unpack(all, k, math.min(k + ${CHUNK * 2} - 1, #all))) end
end
copyInto(KEYS[4], KEYS[2])
copyInto(KEYS[2], KEYS[4])
local i = 5 + n * 2
while i <= #ARGV do
  local last = math.min(i + ${CHUNK * 2} - 1, #ARGV)
  redis.call('HSET', KEYS[2], unpack(ARGV, i, last))
  redis.call('HSET', KEYS[4], unpack(ARGV, i, last))
  i = last + 1
end
redis.call('INCR', KEYS[3])
return 1`;
