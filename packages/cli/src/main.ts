import { type CommandIO, ReportedError, UsageError } from "./io.js";

// Each command's module (and the library parts it needs) is imported only when that command
// runs: `molt version` or `molt --help` load no registry, tar or GCS code.

/** The top-level usage text. */
export const USAGE = `usage: molt <command> [flags]

commands:
  build    build an image from a Dockerfile (kaniko's flags: -c, -f, -d, --no-push, --oci-layout-path, ...)
  parse    parse a Dockerfile and print its syntax tree, stages and warnings
  cache    list or prune a layer cache: molt cache ls|prune --cache-repo R|--cache-dir D [--older-than 14d] [--keep-bytes N]
  push     push an OCI layout or docker archive to registries (-d DEST, repeatable)
  login    store registry credentials in the docker config.json (-u USER --password-stdin)
  logout   remove them
  version  print the version (also --version)
  help     show this text`;

/**
 * Runs the `molt` command line and returns the exit code: 0 success, 1 build/parse failure,
 * 2 usage error. Errors are printed as one line on stderr (a Dockerfile error with its excerpt).
 */
export async function main(argv: string[], io: CommandIO, signal?: AbortSignal): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "build":
        return await (await import("./commands/build.js")).buildCommand(rest, io, signal);
      case "parse":
        return await (await import("./commands/parse.js")).parseCommand(rest, io);
      case "cache":
        return await (await import("./commands/cache.js")).cacheCommand(rest, io, signal);
      case "push":
        return await (await import("./commands/push.js")).pushCommand(rest, io, signal);
      case "login":
        return await (await import("./commands/login.js")).loginCommand(rest, io);
      case "logout":
        return await (await import("./commands/login.js")).logoutCommand(rest, io);
      case "version":
      case "--version":
        return (await import("./commands/version.js")).versionCommand(io);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.stdout.write(`${USAGE}\n`);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`, USAGE);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`molt: ${e.message}\n${e.usage}\n`);
      return 2;
    }
    if (e instanceof ReportedError) return signal?.aborted ? 130 : 1;
    io.stderr.write(`molt: error: ${await describe(e)}\n`);
    // Interrupted (SIGINT/SIGTERM → abort): the shell convention 128 + SIGINT.
    return signal?.aborted ? 130 : 1;
  }
}

/** A one-line description of an error: its message, plus the code for molt's typed errors. */
async function describe(e: unknown): Promise<string> {
  const { MoltError } = await import("@molt/oci");
  if (e instanceof MoltError) return `${e.message} [${e.code}]`;
  if (e instanceof Error) return e.message;
  return String(e);
}
