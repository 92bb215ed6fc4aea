import type { Instruction } from "@molt/parser";
import { InvalidPortError } from "../errors.js";
import type { StageRuntime } from "../stage/runtime.js";

const PORT = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i;

/** EXPOSE: records ports (`80`, `80/udp`, `8000-8002`) in the config (metadata only). */
export function applyExpose(instr: Extract<Instruction, { kind: "EXPOSE" }>, rt: StageRuntime): void {
  const cfg = (rt.state.config.config ??= {});
  const ports = (cfg.ExposedPorts ??= {});
  for (const p of instr.ports) {
    const m = PORT.exec(p);
    if (!m) throw new InvalidPortError(`EXPOSE: invalid port "${p}"`, instr.location);
    const proto = (m[3] ?? "tcp").toLowerCase();
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    if (lo > 65535 || hi > 65535 || hi < lo)
      throw new InvalidPortError(`EXPOSE: invalid port range "${p}"`, instr.location);
    for (let n = lo; n <= hi; n++) ports[`${n}/${proto}`] = {};
  }
  rt.addEmptyHistory(`EXPOSE map[${instr.ports.join(" ")}]`);
}
