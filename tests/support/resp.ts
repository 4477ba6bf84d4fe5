/** A small RESP2 client for the tests' gateway: commands in order over one connection, replies parsed. */
import { connect, type Socket } from "node:net";
import { Buffer } from "node:buffer";

/** A Redis error reply. */
export class RespError extends Error {}

/** A reply: simple or bulk string, integer, nil, array, or error. */
export type RespValue = string | number | null | RespValue[] | RespError;

export class RespClient {
  #socket: Socket;
  #buffer = Buffer.alloc(0);
  #chunks: Buffer[] = [];
  #pending: Array<(value: RespValue) => void> = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      // Every complete reply ends with CRLF: a chunk that does not may not end one, so the chunks
      // wait (a large reply arrives in many chunks; parsing it again at each would be quadratic).
      this.#chunks.push(chunk);
      const n = chunk.length;
      if (n < 2 || chunk[n - 2] !== 13 || chunk[n - 1] !== 10) return;
      this.#buffer = Buffer.concat([this.#buffer, ...this.#chunks.splice(0)]);
      for (;;) {
        const parsed = parse(this.#buffer, 0);
        if (parsed === undefined) break;
        this.#buffer = this.#buffer.subarray(parsed[1]);
        this.#pending.shift()?.(parsed[0]);
      }
    });
    const fail = () => {
      this.#closed = true;
      for (const resolve of this.#pending.splice(0)) resolve(new RespError("connection to redis lost"));
    };
    socket.on("close", fail);
    socket.on("error", fail);
  }

  static connect(port: number): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(new RespClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Sends commands back to back and returns their replies in order. */
  send(commands: Array<Array<string | number>>): Promise<RespValue[]> {
    if (this.#closed) return Promise.resolve(commands.map(() => new RespError("connection to redis lost")));
    const replies = commands.map(() => new Promise<RespValue>((resolve) => this.#pending.push(resolve)));
    this.#socket.write(Buffer.concat(commands.map(encode)));
    return Promise.all(replies);
  }

  close(): void {
    this.#socket.destroy();
  }
}

function encode(args: Array<string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(String(arg));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

function parse(buffer: Buffer, offset: number): [RespValue, number] | undefined {
  const end = buffer.indexOf("\r\n", offset);
  if (end === -1) return undefined;
  const type = String.fromCharCode(buffer[offset]);
  const line = buffer.toString("utf8", offset + 1, end);
  const next = end + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new RespError(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const length = Number(line);
      if (length === -1) return [null, next];
      if (buffer.length < next + length + 2) return undefined;
      return [buffer.toString("utf8", next, next + length), next + length + 2];
    }
    case "*": {
      const count = Number(line);
      if (count === -1) return [null, next];
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, at);
        if (item === undefined) return undefined;
        items.push(item[0]);
        at = item[1];
      }
      return [items, at];
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}
