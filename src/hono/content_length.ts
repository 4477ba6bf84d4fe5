/**
 * The size of a response's body, known without reading it. The runtimes compute `content-length`
 * as they send, from what the Response was built with, and so does this module: from the body
 * Node's Response (undici), @hono/node-server's lightweight Response and Deno's keep inside, or,
 * where a Response keeps nothing a script can see (Bun, workerd), from the body noted as it was
 * built (`noteResponseBodies`). A stream has no size until it is read: only its `content-length`
 * header tells it, or the Response it was taken from (Hono rebuilds a response from the handler's
 * body stream when a middleware sets a header after it). `.headers` is read only as a last resort:
 * on @hono/node-server, Deno and Bun it builds a Headers object and sends the response down a
 * slower path (measured: a quarter of throughput on @hono/node-server, a tenth on Deno).
 * @module
 */
/** A body as a Response is given it. */
type Body = BodyInit | null | undefined;
type HeadersInitLike = Headers | Record<string, string> | Array<[string, string]> | undefined | null;

/**
 * What `noteResponseBodies` leaves on a Response: the body it was built with, and the Response
 * whose stream it was built from. Shared by every copy of this library in a process.
 */
const BODY = Symbol.for("hono-prometheus-exporter.body");
const FROM = Symbol.for("hono-prometheus-exporter.from");
const NOTING = Symbol.for("hono-prometheus-exporter.noting");
type Noted = { [BODY]?: Body; [FROM]?: Response };

const buffer = (globalThis as { Buffer?: { byteLength(text: string): number } }).Buffer;

/** The UTF-8 length of `text`: the runtime's own count where it has `Buffer` (Workers need nodejs_compat). */
export const utf8Length: (text: string) => number = buffer === undefined
  ? countUtf8
  : (text) => buffer.byteLength(text);

/** The UTF-8 length of `text`, counted (lone surrogates are sent as U+FFFD, three bytes). */
export function countUtf8(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: two units, four bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** The size of a body as the Response constructor takes it; undefined for a stream or form data. */
function sizeOfBody(body: Body): number | undefined {
  if (typeof body === "string") return utf8Length(body);
  if (body === null || body === undefined) return 0;
  const byteLength = (body as ArrayBufferView).byteLength;
  if (typeof byteLength === "number") return byteLength; // ArrayBuffer, typed array, DataView
  if (body instanceof Blob) return body.size;
  if (body instanceof URLSearchParams) return utf8Length(body.toString());
  return undefined;
}

/**
 * The bytes of body the client of `response` is told it gets: the `content-length` the app
 * declared, else the size of the body, when that is known without reading it.
 */
export function responseSize(response: Response): number | undefined {
  // One look at the shape, and each kind's internals read once: this runs on every request.
  const shape = shapeOf(response);
  const inner = denoInner(response, shape);
  const declared = declaredIn(response, shape, inner);
  if (declared !== undefined) return declared;
  if (inner !== undefined) return denoBodySize(response, shape, inner);
  const cache = lightweightCache(response, shape);
  if (cache !== undefined) return sizeOfBody(cache[1] as Body) ?? rebuiltSize(response);
  return bodySize(response);
}

/** Deno's inner state of `response`, when it has the shape Deno 2 gives it. */
function denoInner(response: Response, shape: Shape): DenoInner | undefined {
  const inner = shape.inner === undefined ? undefined : internal<DenoInner>(response, shape.inner);
  return inner !== undefined && Array.isArray(inner.headerList) ? inner : undefined;
}

/** The declared `content-length`, read where each kind of Response keeps its headers. */
function declaredIn(response: Response, shape: Shape, inner: DenoInner | undefined): number | undefined {
  if (inner !== undefined) return lengthOf(headerIn(inner.headerList as Array<[string, string]>));
  const cache = lightweightCache(response, shape);
  return lengthOf(cache === undefined ? response.headers.get("content-length") : headerIn(cache[2] as HeadersInitLike));
}

/** The size of the Response whose stream `response` was rebuilt from, when that was noted. */
function rebuiltSize(response: Response): number | undefined {
  const from = (response as Noted)[FROM];
  return from === undefined ? undefined : bodySize(from);
}

function bodySize(response: Response): number | undefined {
  const from = (response as Noted)[FROM];
  if (from !== undefined) return bodySize(from);
  const noted = (response as Noted)[BODY];
  if (noted !== undefined) return sizeOfBody(noted);
  const shape = shapeOf(response);
  const inner = shape.inner === undefined ? undefined : internal<DenoInner>(response, shape.inner);
  if (inner !== undefined) return denoBodySize(response, shape, inner);
  const cache = lightweightCache(response, shape);
  if (cache !== undefined) return sizeOfBody(cache[1] as Body);
  // Any other Response @hono/node-server sends through the standard one it wraps, which reading
  // `.headers` (declaredLength) built, a little earlier than node-server would have.
  const standard = shape.lightweight ? wrappedResponse(response) : response;
  return standard === undefined ? undefined : undiciBodySize(standard);
}

/** The response's `content-length` header as a number, or undefined when it has none (or a bad one). */
export function declaredLength(response: Response): number | undefined {
  const shape = shapeOf(response);
  return declaredIn(response, shape, denoInner(response, shape));
}

function lengthOf(header: string | null): number | undefined {
  if (header === null) return undefined;
  const bytes = Number(header);
  return Number.isInteger(bytes) && bytes >= 0 ? bytes : undefined;
}

/** Whether a header name is `content-length`, in any case, without making a lowercase copy of others. */
function isContentLength(name: string): boolean {
  return name.length === 14 && name.toLowerCase() === "content-length";
}

function headerIn(init: HeadersInitLike): string | null {
  if (init === undefined || init === null) return null;
  // A Headers object, by its method: `instanceof Headers` reads Node's global getter and may run
  // Headers' own instance check, on every request. (A plain object's "get" would be a string.)
  if (typeof (init as Headers).get === "function") return (init as Headers).get("content-length");
  if (Array.isArray(init)) {
    for (const [name, value] of init) if (isContentLength(name)) return value;
    return null;
  }
  for (const name in init) if (isContentLength(name)) return (init as Record<string, string>)[name];
  return null;
}

/**
 * Where a kind of Response keeps its internals: the symbols, found once per prototype by their
 * descriptions (undici's `state`, Deno's `response` and `serve fast body`, node-server's `cache`,
 * which a node-server Response loses when it is read, and `responseCache`, the Response it wraps).
 */
interface Shape {
  readonly state?: symbol;
  readonly inner?: symbol;
  readonly kept?: symbol;
  readonly lightweight: boolean;
  cache?: symbol;
  wrapped?: symbol;
}
const shapes = new WeakMap<object, Shape>();
let lastPrototype: object | null = null;
let lastShape: Shape = { lightweight: false };

function shapeOf(response: Response): Shape {
  const prototype = Object.getPrototypeOf(response) as object;
  if (prototype === lastPrototype) return lastShape;
  let shape = shapes.get(prototype);
  if (shape === undefined) {
    const named = (description: string, fits: (value: unknown) => boolean) => findSymbol(response, description, fits);
    shape = {
      state: named("state", (v) => isObject(v) && "headersList" in v),
      inner: named("response", (v) => isObject(v) && "headerList" in v),
      kept: named("serve fast body", () => true),
      lightweight: Object.getOwnPropertySymbols(prototype).some((s) => s.description === "getResponseCache"),
    };
    shapes.set(prototype, shape);
  }
  lastPrototype = prototype;
  return lastShape = shape;
}

function internal<T>(object: object, symbol: symbol): T | undefined {
  return (object as Record<symbol, T | undefined>)[symbol];
}

/** The first own symbol of `object` with that description whose value fits. */
function findSymbol(object: object, description: string, fits: (value: unknown) => boolean): symbol | undefined {
  return Object.getOwnPropertySymbols(object).find((s) =>
    s.description === description && fits((object as Record<symbol, unknown>)[s])
  );
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

/** @hono/node-server's `[status, body, headers]`, kept until `.headers` or the body is read. */
function lightweightCache(response: Response, shape: Shape): unknown[] | undefined {
  if (!shape.lightweight) return undefined;
  shape.cache ??= findSymbol(response, "cache", (v) => Array.isArray(v) && v.length === 3);
  return shape.cache === undefined ? undefined : internal<unknown[]>(response, shape.cache);
}

/** The standard Response a @hono/node-server Response wraps, once built. */
function wrappedResponse(response: Response): Response | undefined {
  const shape = shapeOf(response);
  shape.wrapped ??= findSymbol(response, "responseCache", (v) => isObject(v) && "status" in v);
  return shape.wrapped === undefined ? undefined : internal<Response>(response, shape.wrapped);
}

/** undici's state of a Response: `body` is absent, null or `{ stream, source, length }`, length null for a stream. */
function undiciBodySize(response: Response): number | undefined {
  const symbol = shapeOf(response).state;
  const state = symbol === undefined ? undefined : internal<{ body?: unknown }>(response, symbol);
  if (state === undefined) return undefined;
  if (state.body === null || state.body === undefined) return 0;
  const length = isObject(state.body) ? state.body.length : undefined;
  return typeof length === "number" ? length : undefined;
}

interface DenoInner {
  headerList?: unknown;
  body?: { source?: unknown; length?: unknown } | null;
}

/**
 * Deno 2 keeps the body in the inner state (`source`, and `length` when it counted it); newer
 * versions keep a string or bytes given without options aside until the body is read (the inner
 * body is null then, as it is for no body at all).
 */
function denoBodySize(response: Response, shape: Shape, inner: DenoInner): number | undefined {
  const body = inner.body;
  if (body === null || body === undefined) {
    const kept = shape.kept === undefined ? undefined : internal<Body>(response, shape.kept);
    return kept === undefined || kept === null ? 0 : sizeOfBody(kept);
  }
  if (typeof body.length === "number") return body.length;
  return typeof body.source === "string" ? utf8Length(body.source) : undefined;
}

/** The global Response as `noteResponseBodies` last left it. */
let settled: unknown;
/** The runtime's own Responses tell all of it (Deno, whose globals no server replaces): nothing to look at again. */
let toldByRuntime = false;

/**
 * Replaces the global `Response`, where that is needed to know sizes, with a constructor that
 * builds the runtime's own Response and notes on it what it cannot tell: the body it was given,
 * where a Response keeps nothing of it that a script can read (Bun, workerd), and, where a
 * Response rebuilt from another's stream forgets its size (Node's and @hono/node-server's), the
 * Response it was rebuilt from (that stream is untouched: a Response cannot be built from a read
 * one). What it builds is the runtime's Response (same prototype, `instanceof` and statics), so
 * servers send it as before. Deno's Responses tell all of it: nothing is replaced there. Cheap
 * when called again: only a global that changed since (@hono/node-server puts its own in place
 * when it starts serving, on Node and Bun) is looked at again.
 */
export function noteResponseBodies(): void {
  if (toldByRuntime) return; // Deno's global is a getter: not read on every request
  const Native = globalThis.Response;
  if (Native === settled) return;
  settled = Native;
  // Its own mark: @hono/node-server's Response inherits from the global it found, maybe this one.
  if (typeof Native !== "function" || Object.hasOwn(Native, NOTING)) return;
  const probe = new Native("??");
  const noteBodies = responseSize(probe) !== 2;
  if (!noteBodies && responseSize(new Native(probe.body, probe)) === 2) {
    toldByRuntime = true;
    return;
  }
  const noting = function Response(body?: Body, init?: ResponseInit): Response {
    if (new.target === undefined) throw new TypeError("Response constructor: 'new' is required");
    const response: Response = new.target === noting
      ? new Native(body, init)
      : Reflect.construct(Native, [body, init], new.target);
    if (noteBodies) (response as Noted)[BODY] = body ?? null;
    if (
      isObject(body) && typeof (body as ReadableStream).getReader === "function" && isObject(init) &&
      (init as unknown as Response).body === body
    ) (response as Noted)[FROM] = init as unknown as Response;
    return response;
  };
  noting.prototype = Native.prototype;
  Object.setPrototypeOf(noting, Native);
  // node-server's Response answers `instanceof` for the standard ones too: so does this one.
  const hasInstance = (Native as { [Symbol.hasInstance]: (value: unknown) => boolean })[Symbol.hasInstance];
  if (hasInstance !== Function.prototype[Symbol.hasInstance]) {
    Object.defineProperty(noting, Symbol.hasInstance, { value: (value: unknown) => value instanceof Native });
  }
  Object.defineProperty(noting, NOTING, { value: true });
  // Node's global may be a lazy getter, and @hono/node-server's a read-only value.
  Object.defineProperty(globalThis, "Response", { value: noting, writable: true, configurable: true });
  settled = noting;
}
