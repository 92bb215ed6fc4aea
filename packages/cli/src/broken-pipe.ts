/**
 * Output streams whose reader went away (`molt build … 2>&1 | head -1`): the first `EPIPE` (or
 * a write after the stream was destroyed) turns the stream into a sink that drops every later
 * write, so progress output just stops and the build goes on to finish and clean up. Any other
 * stream error is left to fail as before.
 */
export function tolerateBrokenPipes(streams: readonly NodeJS.WriteStream[]): void {
  for (const stream of streams) {
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") {
        // Writes from anyone (the CLI, `debug`, console) now go nowhere.
        stream.write = (() => true) as typeof stream.write;
        return;
      }
      stream.off("error", onError);
      stream.emit("error", e);
    };
    stream.on("error", onError);
  }
}
