/**
 * The README and every page of `docs/` (and `bench/README.md`) stay true: every fenced block
 * carries a marker, the HTML comment on the line before it, that says how this suite exercises
 * it, and the suite does so. Links between the pages resolve, headings included; the README stays
 * a few screens long; the configuration reference names every option and every variable the code
 * reads, and nothing else.
 *
 * | marker | what is checked |
 * | --- | --- |
 * | `<!-- snippet: run <node\|bun\|deno> <name> [counter] [expect=a,b] [processes=N] [deno-flags=f,g] -->` | the snippet, copied as is into a default project (`npm init -y`: CommonJS; the package by its name, built to `dist/`; for Deno, an import map of its names), serves on `PORT`: `/users/1` answers and `/metrics` counts it in `counter` (default `hono_worker_requests_total`), with lines that start with `a` and `b`. With `processes=N`, N copies share one port and one `PROMETHEUS_MULTIPROC_DIR`, and 10 requests are counted exactly. Node snippets also type-check. |
 * | `<!-- snippet: cluster <node\|bun\|deno> <name> -->` | the snippet runs as a cluster of two workers (`supervise` with `WORKERS=2` on Node and Bun; `deno serve --parallel` with `DENO_JOBS=2`): both say they are ready, 10 requests are counted exactly on the metrics server, SIGTERM ends it with exit code 0 |
 * | `<!-- snippet: scrape <name> -->` | a real Prometheus, given this `scrape_configs` (the target pointed at the port snippet `<name>` got), scrapes it: `up == 1` and the request counter arrives |
 * | `<!-- snippet: same-as <path> -->` | the block is the file `<path>`, which its own tests run |
 * | `<!-- snippet: lines-of <path> -->` | every line of the block is a line of `<path>` |
 * | `<!-- snippet: config-file -->` | `readConfigFile` reads it without an error |
 * | `<!-- snippet: covered-by <test> -->` | commands that test runs (it must exist and name what the block runs) |
 * | `<!-- snippet: not-run <reason> -->` | what cannot run here, with the reason (reported as a skipped test) |
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { readConfigFile } from "../src/adapter/entry/config_file.ts";
import { COMMON_OPTIONS, HOST_OPTIONS, TIMER_OPTIONS } from "../src/core/config/options.ts";
import { STORAGE_CHOICE_OPTIONS } from "../src/storage/drivers.ts";
import { PROMETHEUS_OPTIONS } from "../src/hono/http_options.ts";
import { until } from "./support/poll.ts";
import { startPrometheus } from "./support/prometheus.ts";
import { freePorts, RUNTIME } from "./support/runtime.ts";
import { type Running, start } from "./support/spawn.ts";

const root = resolve(import.meta.dirname ?? ".", "..");
const PAGES = [
  "README.md",
  ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`),
  "bench/README.md",
];
const text = (page: string) => readFileSync(join(root, page), "utf8");

interface Block {
  /** `page:line`, for messages and test names. */
  readonly where: string;
  readonly lang: string;
  readonly code: string;
  readonly marker: string[] | undefined;
}

function blocks(page: string): Block[] {
  const lines = text(page).split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    assert.ok(end > i, `${page}:${i + 1}: a code block that does not end`);
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === "") before--;
    const marker = /^<!-- snippet: (.+?) -->$/.exec(lines[before] ?? "")?.[1].split(" ");
    out.push({ where: `${page}:${i + 1}`, lang: open[1], code: lines.slice(i + 1, end).join("\n") + "\n", marker });
    i = end;
  }
  return out;
}

const all = PAGES.flatMap(blocks);
const KINDS = ["run", "cluster", "scrape", "same-as", "lines-of", "config-file", "covered-by", "not-run"];
const once = RUNTIME === "node" ? false : "run once, from Node's suite (each snippet starts its own runtime)";
const of = (kind: string) => all.filter((b) => b.marker?.[0] === kind);

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/`/g, "").replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
}

function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text(page).split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe("docs", () => {
  test("every code block says how it is exercised", () => {
    assert.ok(all.length >= 20, `${all.length} blocks`);
    const unmarked = all.filter((b) => b.marker === undefined || !KINDS.includes(b.marker[0]));
    assert.deepEqual(unmarked.map((b) => `${b.where} (${b.lang})`), []);
  });

  test("every relative link reaches a page, and every anchor a heading of it", () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      const body = text(page).replace(/^```[\s\S]*?^```$/gm, "");
      for (const [, target] of body.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [path, anchor] = target.split("#");
        const file = path === "" ? page : relative(root, resolve(root, dirname(page), path));
        if (!existsSync(join(root, file))) broken.push(`${page}: ${target} (no ${file})`);
        else if (anchor !== undefined && file.endsWith(".md") && !anchors(file).has(anchor)) {
          broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  test("the README is a few screens, the Python original appears once, as lineage", () => {
    const readme = text("README.md");
    const lines = readme.split("\n").length;
    assert.ok(lines <= 300, `README.md has ${lines} lines`);
    assert.equal(readme.match(/Python/g)?.length, 1, "Python, once");
    assert.match(readme, /npm:hono-prometheus-exporter/, "the npm: route for Deno");
  });

  test("the pages speak of the product, not of how it was built", () => {
    const found: string[] = [];
    for (const page of PAGES) {
      text(page).split("\n").forEach((line, i) => {
        if (/\bissues?\b|#\d{2,}\b|\bthe seed\b|\bbefore (?:this|the) change\b/i.test(line)) {
          found.push(`${page}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    assert.deepEqual(found, []);
  });

  test("the configuration reference names every variable the code reads, and no other", () => {
    const read = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith(".ts")) {
          const code = readFileSync(path, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
          for (
            const [, name] of code.matchAll(/"((?:PROMETHEUS|REDIS|UPSTASH|HONO_PROMETHEUS)_[A-Z0-9_]+|WORKERS)"/g)
          ) {
            read.add(name);
          }
        }
      }
    };
    walk(join(root, "src"));
    const reference = text("docs/configuration.md");
    const table = reference.slice(
      reference.indexOf("## Environment variables"),
      reference.indexOf("## Configuration file"),
    );
    const documented = new Set<string>();
    for (const line of table.split("\n").filter((l) => l.startsWith("| `"))) {
      for (const [, name] of line.split("|")[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)) documented.add(name);
    }
    assert.ok(read.size >= 25, `${read.size} variables found in src/`);
    assert.deepEqual([...read].filter((n) => !documented.has(n)).sort(), [], "read but not documented");
    assert.deepEqual([...documented].filter((n) => !read.has(n)).sort(), [], "documented but never read");
  });

  test("the configuration reference names every option of every entry", () => {
    const reference = text("docs/configuration.md");
    const groups = { COMMON_OPTIONS, TIMER_OPTIONS, HOST_OPTIONS, STORAGE_CHOICE_OPTIONS, PROMETHEUS_OPTIONS };
    const supervise = ["workers", "gracefulTimeoutMs", "flushDeadlineMs"];
    const missing = [...Object.values(groups).flatMap((g) => Object.keys(g)), ...supervise]
      .filter((name) => !reference.includes(`| \`${name}\``) && !reference.includes(`, \`${name}\` |`));
    assert.deepEqual(missing, []);
  });

  for (const b of of("same-as")) {
    test(`${b.where} is ${b.marker![1]}`, () => {
      assert.equal(b.code.trim(), readFileSync(join(root, b.marker![1]), "utf8").trim());
    });
  }

  for (const b of of("lines-of")) {
    test(`${b.where}: every line is in ${b.marker![1]}`, () => {
      const file = new Set(readFileSync(join(root, b.marker![1]), "utf8").split("\n").map((l) => l.trimEnd()));
      const missing = b.code.split("\n").filter((l) => l.trim() !== "" && !file.has(l.trimEnd()));
      assert.deepEqual(missing, []);
    });
  }

  for (const b of of("config-file")) {
    test(`${b.where}: the configuration file reads`, () => {
      mkdirSync(join(root, "tmp"), { recursive: true });
      const dir = mkdtempSync(join(root, "tmp", "docs-config-"));
      try {
        writeFileSync(join(dir, "config.yml"), b.code);
        const values = readConfigFile(join(dir, "config.yml"));
        assert.ok(Object.keys(values).length >= 3, JSON.stringify(values));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  for (const b of of("covered-by")) {
    test(`${b.where}: run by ${b.marker![1]}`, () => {
      const covering = readFileSync(join(root, b.marker![1]), "utf8");
      // Each command names a file of the repository (an example) or an npm script the test runs.
      for (const named of b.code.match(/(?:examples|src)\/[\w/.-]+\.ts/g) ?? []) {
        assert.ok(existsSync(join(root, named)), `${named} does not exist`);
        const stem = named.replace(/\.ts$/, "").split("/").slice(0, 2).join("/");
        assert.ok(covering.includes(stem), `${b.marker![1]} does not run ${named}`);
      }
    });
  }

  for (const b of of("not-run")) {
    test(b.where, { skip: `not run here: ${b.marker!.slice(1).join(" ")}` }, () => {});
  }

  describe("snippets, run", { skip: once }, () => {
    const running = new Map<string, { app: Running; port: number }>();
    const stopped: Running[] = [];
    let project: Project | undefined;
    after(async () => {
      for (const { app } of running.values()) await app.stop("SIGKILL");
      for (const app of stopped) await app.stop("SIGKILL");
      if (project) rmSync(project.dir, { recursive: true, force: true });
    });
    const ensure = () => project ??= makeProject();

    for (const b of of("run")) {
      const [, runtime, name, ...rest] = b.marker!;
      const metric = rest.find((t) => !t.includes("=")) ?? "hono_worker_requests_total";
      // Commas inside braces belong to a label set.
      const expected = rest.find((t) => t.startsWith("expect="))?.slice(7).split(/,(?![^{]*\})/) ?? [];
      const flags = rest.find((t) => t.startsWith("deno-flags="))?.slice(11).split(",") ?? [];
      const processes = Number(rest.find((t) => t.startsWith("processes="))?.slice(10) ?? 1);
      test(`${b.where}: the ${runtime} snippet serves the app and counts it in /metrics`, async () => {
        const p = ensure();
        const [command, args] = p.command(runtime, name, b.code, flags);
        const shared = processes > 1 ? await freePorts(1) : [0];
        const env: Record<string, string> = { ...p.env(runtime), PORT: String(shared[0]) };
        if (processes > 1) env.PROMETHEUS_MULTIPROC_DIR = mkdtempSync(join(p.dir, "multiproc-"));
        const ready = /listening on http:\/\/localhost:(\d+)/;
        const apps: Running[] = [];
        for (let i = 0; i < processes; i++) apps.push(await start(command, args, env, ready, 60_000));
        stopped.push(...apps.slice(1));
        const port = Number(ready.exec(apps[0].output())![1]);
        running.set(name, { app: apps[0], port });
        const requests = processes > 1 ? 10 : 1;
        for (let i = 0; i < requests; i++) {
          const user = await fetch(`http://127.0.0.1:${port}/users/1`);
          assert.equal(user.status, 200, await user.text());
        }
        const counted = (metrics: string) =>
          metrics.split("\n").find((l) =>
            l.startsWith(`${metric}{`) && l.includes('route="/users/:id"') && l.includes('method="GET"') &&
            l.includes('status="200"') && l.endsWith(` ${requests}`)
          );
        // One process counts before it answers; several publish within their interval.
        const metrics = await until(`${requests} request(s) on /metrics`, async () => {
          const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return counted(body) ? body : "";
        }, processes > 1 ? 15_000 : 2_000);
        for (const start of expected) {
          assert.ok(metrics.split("\n").some((l) => l.startsWith(start)), `no line starts with ${start}:\n${metrics}`);
        }
        if (processes > 1) {
          const answered = new Set(apps.map((app) => app.output().match(/listening/g)?.length));
          assert.deepEqual([...answered], [1], "every copy listens");
        }
      });
    }

    test("the Node snippets type-check in that project (strict, nodenext)", () => {
      const p = ensure();
      const files = of("run").concat(of("cluster")).filter((b) => b.marker![1] === "node").map((b) =>
        p.write("node", `typed-${b.marker![2]}`, b.code)
      );
      assert.ok(files.length >= 5, `${files.length} Node snippets`);
      const config = join(p.node, "tsconfig.check.json");
      writeFileSync(
        config,
        JSON.stringify({
          compilerOptions: {
            noEmit: true,
            strict: true,
            skipLibCheck: true,
            target: "es2022",
            module: "nodenext",
            moduleResolution: "nodenext",
            types: ["node"],
            typeRoots: [join(root, "node_modules/@types")],
          },
          files,
        }),
      );
      const checked = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", config], { cwd: p.node, encoding: "utf8" });
      assert.equal(checked.status, 0, checked.stdout + checked.stderr);
    });

    for (const b of of("cluster")) {
      const [, runtime, name] = b.marker!;
      test(`${b.where}: the ${runtime} cluster counts every request of its two workers exactly`, async () => {
        const p = ensure();
        const [appPort, metricsPort] = await freePorts(2);
        const env = {
          ...p.env(runtime),
          PORT: String(appPort),
          PROMETHEUS_METRICS_PORT: String(metricsPort),
          PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
          PROMETHEUS_MULTIPROC_DIR: mkdtempSync(join(p.dir, "multiproc-")),
          WORKERS: "2",
          DENO_JOBS: "2",
        };
        const [command, args] = runtime === "deno"
          ? [p.deno, [
            "serve",
            "--parallel",
            "-A",
            "--port",
            String(appPort),
            "--host",
            "127.0.0.1",
            "--config",
            p.denoConfig,
            p.write("deno", name, b.code),
          ]]
          : p.command(runtime, name, b.code);
        const app = await start(command, args, env, /(ready[\s\S]*){2}/, 60_000);
        try {
          for (let i = 0; i < 10; i++) {
            const user = await fetch(`http://127.0.0.1:${appPort}/users/1`);
            assert.equal(user.status, 200, await user.text());
          }
          const total = (body: string) =>
            body.split("\n").filter((l) =>
              l.startsWith("hono_worker_requests_total{") && l.includes('route="/users/:id"')
            )
              .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
          await until("10 requests on the metrics server", async () => {
            const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => undefined);
            return res?.status === 200 && total(await res.text()) === 10;
          }, 20_000);
        } finally {
          const code = await app.stop("SIGTERM");
          assert.equal(code, 0, app.output());
        }
      });
    }

    for (const b of of("scrape")) {
      test(`${b.where}: a real Prometheus scrapes the app with this scrape_config`, async () => {
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

interface Project {
  /** Holds both projects and the multiprocess directories. */
  readonly dir: string;
  /** A default `npm init -y` project (CommonJS), with the package installed by its name. */
  readonly node: string;
  /** A Deno project whose import map gives the package's names. */
  readonly denoConfig: string;
  readonly deno: string;
  /** Writes a snippet where `runtime` runs it; returns its path. */
  write(runtime: string, name: string, code: string): string;
  command(runtime: string, name: string, code: string, denoFlags?: string[]): [string, string[]];
  env(runtime: string): Record<string, string>;
}

function makeProject(): Project {
  mkdirSync(join(root, "tmp"), { recursive: true });
  const dir = mkdtempSync(join(root, "tmp", "docs-"));
  const node = join(dir, "node");
  const denoDir = join(dir, "deno");
  mkdirSync(join(node, "node_modules"), { recursive: true });
  mkdirSync(denoDir);
  // The package by its name, as npm installs it: its exports are the build (dist/).
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(root, "tsconfig.build.json")]);
  symlinkSync(root, join(node, "node_modules", "hono-prometheus-exporter"), "dir");
  // What `npm init -y` writes: no "type", so .ts files are CommonJS to tsx.
  writeFileSync(join(node, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", main: "index.js" }));
  // A user's own tsconfig, without the repository's paths (which point the name at the sources).
  writeFileSync(join(node, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true } }));
  const denoConfig = join(denoDir, "deno.json");
  writeFileSync(denoConfig, JSON.stringify(denoImports(), null, 2));
  const deno = join(root, "node_modules/.bin/deno");
  const write = (runtime: string, name: string, code: string) => {
    const file = join(runtime === "deno" ? denoDir : node, `${name}.ts`);
    writeFileSync(file, code);
    return file;
  };
  return {
    dir,
    node,
    denoConfig,
    deno,
    write,
    command(runtime, name, code, denoFlags = []) {
      const file = write(runtime, name, code);
      if (runtime === "deno") return [deno, ["run", "-A", ...denoFlags, "--config", denoConfig, file]];
      return runtime === "bun" ? [join(root, "node_modules/.bin/bun"), [file]] : ["node", ["--import", "tsx", file]];
    },
    env: (
      runtime,
    ): Record<string, string> => (runtime === "node" ? { TSX_TSCONFIG_PATH: join(node, "tsconfig.json") } : {}),
  };
}

/** What `deno add npm:hono-prometheus-exporter` (or the JSR package) gives a project, pointed at this repository. */
function denoImports() {
  const exports = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).exports as Record<string, string>;
  const imports: Record<string, string> = { hono: "npm:hono@^4.8.0", "hono/": "npm:/hono@^4.8.0/" };
  for (const [path, file] of Object.entries(exports)) {
    imports[`hono-prometheus-exporter${path.slice(1)}`] = join(root, file);
    imports[`@hono-prometheus/exporter${path.slice(1)}`] = join(root, file);
  }
  return { imports, nodeModulesDir: "manual" };
}
