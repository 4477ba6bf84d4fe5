/**
 * The Upstash REST Redis backend, for many hosts and edge isolates sharing one database.
 * Every operation is one Lua script, so one REST request: a publish writes only the changed series,
 * a read returns every process in one reply (no SCAN, no KEYS), a retirement is a compare-and-set.
 *
 * Keys, under a prefix (default `hono-prometheus`):
 * | key | type | holds |
 * |---|---|---|
 * | `<prefix>:procs` | hash | process id -> `heartbeat|exited` |
 * | `<prefix>:series:<id>` | hash | series key -> encoded value, one hash per process |
 * | `<prefix>:desc` | hash | metric name -> descriptor (JSON) |
 * | `<prefix>:retired`, `<prefix>:retired:copy` | hash | series key -> retired total, in two copies (a value that does not read in one is taken from the other) |
 * | `<prefix>:version` | string | retired-total version (compare-and-set token) |
 * | `<prefix>:tomb:<id>` | hash | what was folded for a retired id (expires) |
 * @module
 */
import type { Redis } from "@upstash/redis";
import { ConfigError, StorageError } from "../core/errors.ts";
import type {
  MetricDescriptor,
  ProcessRecord,
  ProcessUpdate,
  PublishOutcome,
  Retirement,
  Storage,
  StoredState,
} from "../core/storage.ts";

/** Options of {@link UpstashStorage}. */
export interface UpstashStorageOptions {
  /**
   * A client of yours (`new Redis(...)` from `@upstash/redis`, `/cloudflare`, `/fastly`...). Else one
   * is built from `url` and `token`, loading `@upstash/redis` at the first request.
   */
  readonly redis?: UpstashClient;
  /** REST URL. Env `UPSTASH_REDIS_REST_URL`. */
  readonly url?: string;
  /** REST token. Env `UPSTASH_REDIS_REST_TOKEN`. Never logged. */
  readonly token?: string;
  /** Key prefix. Env `REDIS_KEY_PREFIX`; default `hono-prometheus`. */
  readonly keyPrefix?: string;
  /**
   * Lifetime of every key in ms, refreshed by each publish; 0 turns it off. Default 300000. Env
   * `REDIS_TTL_SECONDS` (in seconds, as the Python original), `REDIS_TTL_DISABLED`.
   */
  readonly ttlMs?: number;
  /** Lifetime of a tombstone (what was folded for a retired process), in ms. Default one day. */
  readonly tombstoneTtlMs?: number;
  /** A request that takes longer fails (and is retried by the publisher with backoff), in ms. Default 5000. */
  readonly timeoutMs?: number;
}

const PREFIX_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;
const CHUNK = 500; // field pairs per HSET: Lua's unpack has a stack limit

const PUBLISH_BODY = `
if redis.call('EXISTS', KEYS[4]) == 1 then return {'retired', redis.call('HGETALL', KEYS[4])} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local function hset(key, from, to)
  local i = from
  while i <= to do
    local last = math.min(i + ${CHUNK * 2} - 1, to)
    redis.call('HSET', key, unpack(ARGV, i, last))
    i = last + 1
  end
end
local nd = tonumber(ARGV[4])
hset(KEYS[3], 5, 4 + nd * 2)
hset(KEYS[2], 5 + nd * 2, #ARGV)
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], ttl) end
  for k = 5, 7 do redis.call('PEXPIRE', KEYS[k], ttl) end
end`;

const PUBLISH = `${PUBLISH_BODY}
return {'ok'}`;

/** The read, over the given keys: descriptors, retired total, version, processes, copy, each process's series. */
const readBody = (procs: string, desc: string, retired: string, version: string, copy: string, prefix: string) => `
local procs = redis.call('HGETALL', ${procs})
local out = {redis.call('HGETALL', ${desc}), redis.call('HGETALL', ${retired}), redis.call('GET', ${version}) or '0', procs, redis.call('HGETALL', ${copy})}
for i = 1, #procs, 2 do out[#out + 1] = redis.call('HGETALL', ${prefix} .. ':series:' .. procs[i]) end`;

const READ = `${readBody("KEYS[1]", "KEYS[2]", "KEYS[3]", "KEYS[4]", "KEYS[5]", "ARGV[1]")}
return out`;

// A scrape's own publish and its read in one request: the publish, then the read of the result.
const PUBLISH_READ = `${PUBLISH_BODY}
${readBody("KEYS[1]", "KEYS[3]", "KEYS[5]", "KEYS[6]", "KEYS[7]", "string.sub(KEYS[1], 1, -7)")}
return {'ok', out}`;

const RETIRE = `
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
local i = 5 + n * 2
while i <= #ARGV do
  local last = math.min(i + ${CHUNK * 2} - 1, #ARGV)
  redis.call('HSET', KEYS[2], unpack(ARGV, i, last))
  redis.call('HSET', KEYS[4], unpack(ARGV, i, last))
  i = last + 1
end
redis.call('INCR', KEYS[3])
return 1`;

/** What the backend needs of an `@upstash/redis` client (any flavour): scripts. */
export interface UpstashClient {
  /** Prepares a Lua script, run with EVALSHA (EVAL the first time). */
  createScript(script: string): { exec(keys: string[], args: string[]): Promise<unknown> };
}

/** What the backend needs to call scripts, whatever client it was given. */
interface ScriptRunner {
  exec(keys: string[], args: string[]): Promise<unknown>;
}

/**
 * Storage in Upstash REST Redis.
 *
 * @example
 * ```ts
 * import { UpstashStorage } from "hono-prometheus-exporter/upstash";
 * const storage = new UpstashStorage({ url: "https://example.upstash.io", token: "..." });
 * ```
 */
export class UpstashStorage implements Storage {
  /** Always `upstash`. */
  readonly kind = "upstash";
  /** The key prefix. */
  readonly keyPrefix: string;
  /** The key lifetime in ms, or undefined when keys do not expire. */
  readonly expiresAfterMs: number | undefined;
  readonly #ttl: number;
  readonly #tombTtl: number;
  readonly #publish: ScriptRunner;
  readonly #read: ScriptRunner;
  readonly #publishRead: ScriptRunner;
  readonly #retire: ScriptRunner;

  /**
   * Uses the given client, or builds one from the URL and token.
   * @param options Client or credentials, prefix, lifetimes.
   */
  constructor(options: UpstashStorageOptions) {
    this.keyPrefix = options.keyPrefix ?? "hono-prometheus";
    if (!PREFIX_PATTERN.test(this.keyPrefix)) {
      throw new ConfigError(
        "REDIS_KEY_PREFIX",
        `${
          JSON.stringify(this.keyPrefix)
        } may only hold letters, digits, _ . and - (no glob or : separator that could reach other keys)`,
      );
    }
    this.#ttl = wholeMs("ttlMs", options.ttlMs, 300_000);
    this.expiresAfterMs = this.#ttl === 0 ? undefined : this.#ttl;
    this.#tombTtl = wholeMs("tombstoneTtlMs", options.tombstoneTtlMs, 86_400_000);
    if (this.#tombTtl === 0) throw new ConfigError("tombstoneTtlMs", "must be at least 1 ms");
    // `@upstash/redis` is loaded at the first request, and only when no client was given.
    let client: Promise<UpstashClient> | undefined = options.redis && Promise.resolve(options.redis);
    const connect = client === undefined ? checkCredentials(options) : undefined;
    const script = (source: string): ScriptRunner => {
      let prepared: ReturnType<UpstashClient["createScript"]> | undefined;
      return {
        exec: (keys, args) =>
          guard(async () => {
            prepared ??= (await (client ??= connect!())).createScript(source);
            return prepared.exec(keys, args);
          }),
      };
    };
    this.#publish = script(PUBLISH);
    this.#read = script(READ);
    this.#publishRead = script(PUBLISH_READ);
    this.#retire = script(RETIRE);
  }

  /** One script: refuses a retired id, else writes the changed series, descriptors and heartbeat. */
  async publish(update: ProcessUpdate): Promise<PublishOutcome> {
    const reply = await this.#publish.exec(this.#publishKeys(update.processId), this.#publishArgs(update));
    return publishOutcome(reply);
  }

  /** One script: the publish, then (unless this id was retired) the read: a scrape costs one request. */
  async publishAndRead(update: ProcessUpdate): Promise<{ outcome: PublishOutcome; state?: StoredState }> {
    const reply = await this.#publishRead.exec(this.#publishKeys(update.processId), this.#publishArgs(update));
    const outcome = publishOutcome(reply);
    if (outcome.status === "retired") return { outcome };
    return { outcome, state: parseRead((reply as unknown[])[1]) };
  }

  /** One script: every process, the descriptors and the retired total. */
  async read(): Promise<StoredState> {
    const k = this.#keys("");
    return parseRead(await this.#read.exec([k.procs, k.desc, k.retired, k.version, k.copy], [this.keyPrefix]));
  }

  /** One script: compare-and-set on the version and each heartbeat, then fold, tombstone, remove. */
  async retire(retirement: Retirement): Promise<boolean> {
    const k = this.#keys("");
    const args = [
      this.keyPrefix,
      String(retirement.expectedVersion),
      String(this.#tombTtl),
      String(retirement.processes.length),
    ];
    for (const p of retirement.processes) args.push(p.id, String(p.heartbeat));
    for (const [key, value] of retirement.retiredUpdates) args.push(key, value);
    return Number(await this.#retire.exec([k.procs, k.retired, k.version, k.copy], args)) === 1;
  }

  /** The REST client holds no connection. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #publishKeys(id: string): string[] {
    const k = this.#keys(id);
    return [k.procs, k.series, k.desc, k.tomb, k.retired, k.version, k.copy];
  }

  #publishArgs(update: ProcessUpdate): string[] {
    const args = [
      update.processId,
      `${update.heartbeat}|${update.exited ? 1 : 0}`,
      String(this.#ttl),
      String(update.descriptors.size),
    ];
    for (const [name, d] of update.descriptors) args.push(name, JSON.stringify(d));
    for (const [key, value] of update.series) args.push(key, value);
    return args;
  }

  #keys(id: string) {
    const p = this.keyPrefix;
    return {
      procs: `${p}:procs`,
      series: `${p}:series:${id}`,
      desc: `${p}:desc`,
      tomb: `${p}:tomb:${id}`,
      retired: `${p}:retired`,
      copy: `${p}:retired:copy`,
      version: `${p}:version`,
    };
  }
}

/** What a publish script's reply says. */
function publishOutcome(reply: unknown): PublishOutcome {
  if (Array.isArray(reply) && text(reply[0]) === "retired") {
    const folded = pairs(reply[1]);
    folded.delete("__empty");
    return { status: "retired", folded };
  }
  return { status: "ok" };
}

/** The state in a read script's reply. */
function parseRead(reply: unknown): StoredState {
  if (!Array.isArray(reply) || reply.length < 5) {
    throw new StorageError("upstash", "the read script returned an unexpected reply");
  }
  let corrupt = 0;
  const descriptors = new Map<string, MetricDescriptor>();
  for (const [name, raw] of pairs(reply[0], true)) {
    try {
      descriptors.set(name, JSON.parse(raw));
    } catch {
      corrupt++;
    }
  }
  const procs = pairs(reply[3]);
  const processes: ProcessRecord[] = [];
  let index = 5;
  for (const [id, meta] of procs) {
    const series = pairs(reply[index++]);
    const [heartbeat, exited] = meta.split("|");
    if (heartbeat === undefined || Number.isNaN(Number(heartbeat))) {
      corrupt++;
      continue;
    }
    processes.push({ id, heartbeat: Number(heartbeat), exited: exited === "1", series });
  }
  return {
    descriptors,
    processes,
    retired: pairs(reply[1]),
    retiredCopy: pairs(reply[4]),
    retiredVersion: Number(text(reply[2])) || 0,
    corrupt,
  };
}

/** A duration option in whole milliseconds (0 allowed), or its default. */
function wholeMs(setting: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(setting, `expected whole milliseconds (0 for no expiry), got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Checks the URL and token now (a ConfigError at start-up), and returns how to build the client
 * later: `@upstash/redis` is imported then, so that apps that never use Upstash never load it.
 */
function checkCredentials(options: UpstashStorageOptions): () => Promise<UpstashClient> {
  if (!options.url) {
    throw new ConfigError("UPSTASH_REDIS_REST_URL", "is not set; give the Upstash REST URL (or pass a Redis client)");
  }
  if (!options.token) {
    throw new ConfigError(
      "UPSTASH_REDIS_REST_TOKEN",
      "is not set; give the Upstash REST token (or pass a Redis client)",
    );
  }
  if (!/^https?:\/\/[^\s/]+/.test(options.url)) {
    throw new ConfigError("UPSTASH_REDIS_REST_URL", `${JSON.stringify(options.url)} is not an http(s) URL`);
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  const { url, token } = options;
  return async () => {
    const { Redis: Client } = await import("@upstash/redis");
    const redis: Redis = new Client({
      url,
      token,
      retry: false, // the publisher retries with backoff, and reports once per outage
      automaticDeserialization: false,
      enableTelemetry: false,
      signal: () => AbortSignal.timeout(timeoutMs),
    });
    return redis;
  };
}

/** Runs a request, turning any failure into a StorageError that names the cause but never the token or the payload. */
async function guard<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw new StorageError("upstash", `request failed: ${cause(error)}`, { cause: error });
  }
}

function cause(error: unknown): string {
  const name = error instanceof Error ? error.name : "Error";
  let message = error instanceof Error ? error.message : String(error);
  const command = message.indexOf(", command was:");
  if (command !== -1) message = message.slice(0, command); // @upstash/redis appends the whole request
  if (/Unauthorized|WRONGPASS|invalid token/i.test(message)) message = `${message} (check UPSTASH_REDIS_REST_TOKEN)`;
  if (name === "TimeoutError" || /aborted|timeout/i.test(message)) message = `timed out (${message})`;
  const code = (error as { cause?: { code?: string } } | null)?.cause?.code;
  if (code) message = `${message} [${code}]`;
  return message.length > 300 ? `${message.slice(0, 300)}...` : message;
}

/** A reply value as text, whatever deserialization the client applied. */
function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** An HGETALL reply (a flat array, or an object) as a map of strings. */
function pairs(value: unknown, raw = false): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(value)) {
    for (let i = 0; i + 1 < value.length; i += 2) out.set(text(value[i]), text(value[i + 1]));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.set(k, raw && typeof v === "object" ? JSON.stringify(v) : text(v));
  }
  return out;
}
