/**
 * The part of the `Deno` namespace this adapter uses, typed here so that the package type-checks
 * under tsc as well as Deno.
 * @module
 */

/** A running `Deno.serve` server. */
export interface DenoHttpServer {
  readonly addr: { readonly port: number };
  shutdown(): Promise<void>;
}

/** The Deno namespace, as far as this adapter needs it. */
export interface DenoNamespace {
  readonly pid: number;
  hostname(): string;
  memoryUsage(): { rss: number };
  env: { get(name: string): string | undefined };
  serve(
    options: {
      port: number;
      hostname: string;
      onListen?: (addr: unknown) => void;
      onError?: (error: unknown) => Response;
    },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoHttpServer;
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  unrefTimer(id: number): void;
  exit(code: number): never;
}

/** Returns the `Deno` global, or throws a message that says which adapter to use. */
export function denoGlobal(): DenoNamespace {
  const deno = (globalThis as { Deno?: DenoNamespace }).Deno;
  if (deno === undefined) {
    throw new Error("the deno adapter needs the Deno runtime; import the adapter of the runtime you run on");
  }
  return deno;
}
