/**
 * A Durable Object namespace on Node that reaches a real metrics object in workerd through the
 * relay of `fixtures/durable/relay.ts`: what the package's client sends a stub, the relay hands the
 * object unchanged. Only the hop from Node into workerd is HTTP; the object, its SQLite and its
 * alarm are workerd's own. Each request it relays is counted: a round trip to the object.
 */
import type { DurableObjectNamespaceLike } from "../../src/storage/durable/storage.ts";

export interface RelayNamespace extends DurableObjectNamespaceLike {
  /** Requests relayed so far, by object name. */
  readonly calls: Map<string, number>;
  /** Sends an operation (`__lose`, `__reload`, `stats`...) to object `name`, with a JSON body. */
  send(name: string, op: string, body?: unknown): Promise<Response>;
}

export function relayNamespace(workerUrl: string): RelayNamespace {
  const calls = new Map<string, number>();
  const relay = (name: string, op: string, body?: BodyInit | null) =>
    fetch(`${workerUrl}/__do/${encodeURIComponent(name)}/${op}`, { method: "POST", body: body ?? "{}" });
  const send = (name: string, op: string, body?: unknown) => relay(name, op, JSON.stringify(body ?? {}));
  return {
    calls,
    send,
    idFromName: (name: string) => name,
    get: (id: never) => ({
      fetch: (input: string, init?: RequestInit) => {
        const name = String(id);
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return relay(name, new URL(input).pathname.slice(1), init?.body);
      },
    }),
  };
}
