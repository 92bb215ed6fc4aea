import { run } from "./exec.js";
import { MOLT_BIN } from "./molt-cli.js";

/**
 * A private tmux server (its own socket) to run `molt build` in a real terminal and read what
 * the terminal shows. `close()` kills the server and everything in it.
 */
export function tmuxTerminal(name: string) {
  const socket = `molt-test-${name}-${process.pid}`;
  const tmux = (...args: string[]) => run("tmux", ["-L", socket, ...args]);
  const pane = async (session: string): Promise<string> =>
    (await tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", session)).stdout;
  return {
    /** Starts `molt build ...args` in a 120×50 terminal; it prints `EXIT=<code>` when done. */
    start(session: string, args: string[]) {
      const cmd = [process.execPath, MOLT_BIN, "build", ...args].map((a) => `'${a}'`).join(" ");
      return tmux(
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "50",
        "-s",
        session,
        `${cmd}; echo EXIT=$?; sleep 600`,
      );
    },
    pane,
    /** Polls the pane every 100 ms until `what` holds; throws with the pane's text after `ms`. */
    async waitFor(session: string, what: (text: string) => boolean, ms = 60_000): Promise<string> {
      const until = Date.now() + ms;
      for (;;) {
        const text = await pane(session);
        if (what(text)) return text;
        if (Date.now() > until) throw new Error(`timed out; the pane shows:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close(): Promise<void> {
      await run("tmux", ["-L", socket, "kill-server"], { allowFail: true });
    },
  };
}
