/**
 * The matched route pattern of the handler that answered, as `routePath(c)` from `hono/route`
 * tells it, without building the array of every matched route that `routePath` builds on each
 * call: Hono keeps the match result behind a symbol of its request class, found once.
 * @module
 */
import type { Context } from "hono";
import { routePath } from "hono/route";

type MatchResult = [Array<[[unknown, { path: string }], unknown]>, ...unknown[]];

/** The symbol of Hono's request class under which the match result is kept (null: not found). */
let matchKey: symbol | null | undefined;

/** The route pattern `c` was answered by, or "" when none matched. */
export function answeredRoute(c: Context): string {
  const request = c.req as unknown as Record<symbol, unknown> & { routeIndex: number };
  if (matchKey === undefined) matchKey = findMatchKey(request);
  if (matchKey === null) return routePath(c);
  const result = request[matchKey] as MatchResult | undefined;
  return result?.[0]?.[request.routeIndex]?.[0]?.[1]?.path ?? "";
}

function findMatchKey(request: object): symbol | null {
  for (const symbol of Object.getOwnPropertySymbols(Object.getPrototypeOf(request))) {
    const value = (request as Record<symbol, unknown>)[symbol];
    if (Array.isArray(value) && Array.isArray(value[0])) return symbol;
  }
  return null;
}
