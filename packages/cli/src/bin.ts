#!/usr/bin/env node
import { tolerateBrokenPipes } from "./broken-pipe.js";

// A closed stdout or stderr stops that output, never the build.
tolerateBrokenPipes([process.stdout, process.stderr]);

// No top-level await: the bundle (scripts/bundle.mjs) is CommonJS, so that its code can be
// compiled from a V8 code cache (issue 16: start-up).
async function run(): Promise<void> {
  // Only a build mounts anything; other commands skip loading the namespace wrapper.
  const wrapped =
    process.argv[2] === "build"
      ? await (await import("./mount-namespace.js")).runInPrivateMountNamespace(process.argv.slice(2))
      : undefined;
  if (wrapped !== undefined) {
    process.exitCode = wrapped;
    return;
  }
  const controller = new AbortController();
  let interrupted = 0;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      interrupted++;
      if (interrupted > 1) process.exit(130);
      controller.abort(new Error(`received ${sig}`));
    });
  }
  // Loaded only here: a wrapper that re-executes the build need not load the whole library.
  const { main } = await import("./main.js");
  const code = await main(
    process.argv.slice(2),
    { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() },
    controller.signal,
  );
  process.exitCode = code;
}

void run();
