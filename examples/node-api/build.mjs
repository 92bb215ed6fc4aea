// A small Node tool that embeds molt: it builds an image from files it generates itself, through
// a custom context source, and draws a progress bar from molt's events.
//
//   node examples/node-api/build.mjs OUT_LAYOUT_DIR [DESTINATION]
//
// With DESTINATION (and MOLT_INSECURE=1 for a plain-HTTP registry) it also pushes there.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build, openDirectoryContext, registerContextScheme } from "molt";

const [layout, destination] = process.argv.slice(2);
if (!layout) {
  console.error("usage: node build.mjs OUT_LAYOUT_DIR [DESTINATION]");
  process.exit(2);
}

// A custom ContextSource: `gen://NAME` contexts are made from this table of files. A source only
// has to produce a ContextSource; this one writes the files to a private directory and serves
// them with molt's directory source, removing the directory when molt closes the context.
const generated = {
  site: {
    Dockerfile:
      "FROM scratch\nCOPY index.html /srv/index.html\nCOPY build-info.json /srv/\nLABEL made.by=node-api\n",
    "index.html": "<h1>built by a Node program</h1>\n",
    "build-info.json": `${JSON.stringify({ tool: "examples/node-api", node: process.version })}\n`,
  },
};
registerContextScheme("gen", async (spec, options) => {
  const files = generated[spec.slice("gen://".length)];
  if (!files) throw new Error(`no generated context named ${spec}`);
  const dir = await mkdtemp(join(tmpdir(), "node-api-ctx-"));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  const ctx = await openDirectoryContext(dir, options);
  return {
    description: `generated context ${spec}`,
    root: ctx.root,
    stat: (p) => ctx.stat(p),
    walk: (d, o) => ctx.walk(d, o),
    glob: (p) => ctx.glob(p),
    open: (p) => ctx.open(p),
    isIgnored: (p) => ctx.isIgnored(p),
    hash: (p, o) => ctx.hash(p, o),
    readRaw: (p) => ctx.readRaw(p),
    close: async () => {
      await ctx.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

// A progress bar from the step events (one line, redrawn on a terminal; one line per step otherwise).
const tty = process.stderr.isTTY;
function bar(step, of, text) {
  const width = 20;
  const filled = Math.round((step / of) * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${step}/${of} ${text}`;
}

const result = await build({
  context: "gen://site",
  destinations: destination ? [destination] : [],
  ociLayoutPath: layout,
  ...(destination ? {} : { noPush: true }),
  ...(process.env.MOLT_INSECURE ? { registries: { "*": { push: { insecure: true } } } } : {}),
  signal: AbortSignal.timeout(5 * 60_000),
  onProgress(e) {
    // One event union: steps start and finish with ids; `index`/`of` count a stage's steps, FROM included.
    if (e.type === "molt:step:start" && e.index !== undefined && e.of !== undefined) {
      const line = bar(e.index, e.of, (e.instruction ?? e.name).slice(0, 50));
      process.stderr.write(tty ? `\r${line.padEnd(80)}` : `${line}\n`);
    } else if (e.type === "molt:output:pushed") {
      process.stderr.write(`${tty ? "\n" : ""}pushed ${e.reference}\n`);
    } else if (e.type === "molt:output:written") {
      process.stderr.write(`${tty ? "\n" : ""}${e.kind} ${e.target}\n`);
    }
  },
});
console.log(result.digest);
