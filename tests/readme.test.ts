/**
 * The README stays true: every fenced block in it carries a marker, the HTML comment on the line
 * before it, that says how this suite exercises it, and the suite does so.
 *
 * | marker | what is checked |
 * |---|---|
 * | `<!-- readme: run <node|bun|deno> <name> [counter] [expect=a,b] -->` | the snippet, copied as is into a project that imports this package by name (built to `dist/` for Node and Bun; mapped as `deno add` would for Deno), serves on `PORT=0`: `/users/1` answers and `/metrics` counts it in `counter` (default `hono_worker_requests_total`), and has lines that start with `a` and `b` |
 * | `<!-- readme: scrape <name> -->` | a real Prometheus, given this `scrape_configs` (the target pointed at the port snippet `<name>` got), scrapes it: `up == 1` and the request counter arrives |
 * | `<!-- readme: same-as <path> -->` | the block is the file `<path>`, which its own tests run |
 * | `<!-- readme: lines-of <path> -->` | every line of the block is a line of `<path>` |
 * | `<!-- readme: config-file -->` | `readConfigFile` reads it without an error |
 * | `<!-- readme: covered-by <test> -->` | commands that test runs (it must exist and name what the block runs) |
 * | `<!-- readme: not-run <reason> -->` | what cannot run here, with the reason (reported as a skipped test) |
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { readConfigFile } from "../src/adapter/entry/config_file.ts";
import { until } from "./support/poll.ts";
import { startPrometheus } from "./support/prometheus.ts";
import { RUNTIME } from "./support/runtime.ts";
import { type Running, start } from "./support/spawn.ts";

const root = resolve(import.meta.dirname ?? ".", "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

interface Block {
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  readonly marker: string[] | undefined;
}

function blocks(text: string): Block[] {
  const lines = text.split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    assert.ok(end > i, `README.md:${i + 1}: a code block that does not end`);
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === "") before--;
    const marker = /^<!-- readme: (.+?) -->$/.exec(lines[before] ?? "")?.[1].split(" ");
    out.push({ line: i + 1, lang: open[1], code: lines.slice(i + 1, end).join("\n") + "\n", marker });
    i = end;
  }
  return out;
}

const all = blocks(readme);
const KINDS = ["run", "scrape", "same-as", "lines-of", "config-file", "covered-by", "not-run"];
const once = RUNTIME === "node" ? false : "run once, from Node's suite (each snippet starts its own runtime)";

describe("README", () => {
  test("every code block says how it is exercised", () => {
    assert.ok(all.length >= 10, `${all.length} blocks`);
    const unmarked = all.filter((b) => b.marker === undefined || !KINDS.includes(b.marker[0]));
    assert.deepEqual(unmarked.map((b) => `README.md:${b.line} (${b.lang})`), []);
  });

  for (const b of all.filter((b) => b.marker?.[0] === "same-as")) {
    test(`README.md:${b.line} is ${b.marker![1]}`, () => {
      assert.equal(b.code.trim(), readFileSync(join(root, b.marker![1]), "utf8").trim());
    });
  }

  for (const b of all.filter((b) => b.marker?.[0] === "lines-of")) {
    test(`README.md:${b.line}: every line is in ${b.marker![1]}`, () => {
      const file = new Set(readFileSync(join(root, b.marker![1]), "utf8").split("\n").map((l) => l.trimEnd()));
      const missing = b.code.split("\n").filter((l) => l.trim() !== "" && !file.has(l.trimEnd()));
      assert.deepEqual(missing, []);
    });
  }

  for (const b of all.filter((b) => b.marker?.[0] === "config-file")) {
    test(`README.md:${b.line}: the configuration file reads`, () => {
      const dir = mkdtempSync(join(root, "tmp", "readme-config-"));
      try {
        writeFileSync(join(dir, "config.yml"), b.code);
        const values = readConfigFile(join(dir, "config.yml"));
        assert.ok(Object.keys(values).length >= 3, JSON.stringify(values));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  for (const b of all.filter((b) => b.marker?.[0] === "covered-by")) {
    test(`README.md:${b.line}: run by ${b.marker![1]}`, () => {
      const covering = readFileSync(join(root, b.marker![1]), "utf8");
      // Each command names a file of the repository (an example) or an npm script the test runs.
      for (const named of b.code.match(/(?:examples|src)\/[\w/.-]+\.ts/g) ?? []) {
        assert.ok(existsSync(join(root, named)), `${named} does not exist`);
        const stem = named.replace(/\.ts$/, "").split("/").slice(0, 2).join("/");
        assert.ok(covering.includes(stem), `${b.marker![1]} does not run ${named}`);
      }
    });
  }

  for (const b of all.filter((b) => b.marker?.[0] === "not-run")) {
    test(`README.md:${b.line}`, { skip: `not run here: ${b.marker!.slice(1).join(" ")}` }, () => {});
  }

  describe("snippets, run", { skip: once }, () => {
    const running = new Map<string, { app: Running; port: number }>();
    let project = "";
    after(async () => {
      for (const { app } of running.values()) await app.stop("SIGKILL");
      if (project) rmSync(project, { recursive: true, force: true });
    });

    for (const b of all.filter((b) => b.marker?.[0] === "run")) {
      const [, runtime, name, ...rest] = b.marker!;
      const metric = rest.find((t) => !t.startsWith("expect=")) ?? "hono_worker_requests_total";
      // expect=a,b: lines of /metrics that must start with a, and with b.
      const expected = rest.find((t) => t.startsWith("expect="))?.slice(7).split(",") ?? [];
      test(`README.md:${b.line}: the ${runtime} snippet serves the app and counts it in /metrics`, async () => {
        if (project === "") {
          mkdirSync(join(root, "tmp"), { recursive: true });
          project = mkdtempSync(join(root, "tmp", "readme-"));
          // Node and Bun import the package by its name: inside the package, that is its exports (dist/).
          execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(root, "tsconfig.build.json")]);
          writeFileSync(join(project, "deno.json"), JSON.stringify(denoConfig(), null, 2));
          // A user's own tsconfig, without the repository's paths (which point the name at the sources).
          writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true } }));
        }
        const file = join(project, `${name}.ts`);
        writeFileSync(file, b.code);
        const [command, args] = runtime === "deno"
          ? [join(root, "node_modules/.bin/deno"), ["run", "-A", "--config", join(project, "deno.json"), file]]
          : runtime === "bun"
          ? [join(root, "node_modules/.bin/bun"), [file]]
          : ["node", ["--import", "tsx", file]];
        const env = { PORT: "0", TSX_TSCONFIG_PATH: join(project, "tsconfig.json") };
        const app = await start(command, args, env, /listening on http:\/\/localhost:\d+/, 60_000);
        const port = Number(/listening on http:\/\/localhost:(\d+)/.exec(app.output())![1]);
        running.set(name, { app, port });
        const user = await fetch(`http://127.0.0.1:${port}/users/1`);
        assert.equal(user.status, 200, await user.text());
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const line = metrics.split("\n").find((l) => l.startsWith(`${metric}{`) && l.includes('route="/users/:id"'));
        assert.ok(line?.includes('method="GET"') && line.includes('status="200"') && line.endsWith(" 1"), metrics);
        for (const start of expected) {
          assert.ok(metrics.split("\n").some((l) => l.startsWith(start)), `no line starts with ${start}:\n${metrics}`);
        }
      });
    }

    for (const b of all.filter((b) => b.marker?.[0] === "scrape")) {
      test(`README.md:${b.line}: a real Prometheus scrapes the app with this scrape_config`, async () => {
        const target = running.get(b.marker![1]);
        assert.ok(target, `snippet ${b.marker![1]} did not run`);
        const jobs = b.code.replace(/^scrape_configs:\n/, "").replace(/"localhost:\d+"/g, `"127.0.0.1:${target.port}"`);
        assert.notEqual(jobs, b.code, "the block is a scrape_configs list with a localhost target");
        const prometheus = await startPrometheus({ scrapeConfigs: jobs }, 500, 400);
        try {
          await until("Prometheus to scrape the app", async () => (await prometheus.query("up"))[0] === 1, 30_000, 100);
          const counted = await prometheus.query('sum(hono_worker_requests_total{route="/users/:id"})');
          assert.ok(counted[0] >= 1, JSON.stringify(counted));
        } finally {
          await prometheus.stop();
        }
      });
    }
  });
});

/** What `deno add jsr:@hono-prometheus/exporter` and `deno add npm:hono` give a project, pointed at this repository. */
function denoConfig() {
  const exports = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).exports as Record<string, string>;
  const imports: Record<string, string> = { hono: "npm:hono@^4.8.0", "hono/": "npm:/hono@^4.8.0/" };
  for (const [path, file] of Object.entries(exports)) {
    imports[`@hono-prometheus/exporter${path.slice(1)}`] = join(root, file);
  }
  return { imports, nodeModulesDir: "manual" };
}
