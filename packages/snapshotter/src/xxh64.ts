/**
 * xxh64 (seed 0) in a small WebAssembly module written here, the same hash as xxhash-wasm's
 * `h64` that baselines hold (and persist), made for V8's baseline compiler: `bin/molt` runs
 * WebAssembly with `--liftoff-only` (see its comments), and Liftoff compiles `i64.rotl` to a call
 * into C (`wasm::word64_rol_wrapper`), four per 32 bytes in xxh64's inner loop. Here every
 * rotation is two shifts and an or, the stripe loop keeps its four lanes in locals, and a
 * file's body is copied into the module's memory once and hashed in three calls (issue 16: the
 * Debian layer's 128 MB were hashed in ~100 ms of the main thread's CPU under `--liftoff-only`).
 */

const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

/** Bytes of the module's memory before the input: the four lanes (32 bytes). */
const STATE = 0;
const INPUT = 64;

function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function sleb(v: bigint): number[] {
  let x = BigInt.asIntN(64, v);
  const out: number[] = [];
  for (;;) {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    if ((x === 0n && (b & 0x40) === 0) || (x === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

// Opcodes used below.
const GET = 0x20;
const SET = 0x21;
const TEE = 0x22;
const I64_LOAD = 0x29;
const I64_LOAD8_U = 0x31;
const I64_LOAD32_U = 0x35;
const I64_STORE = 0x37;
const I32_EQZ = 0x45;
const I32_CONST = 0x41;
const I64_CONST = 0x42;
const I32_LT_U = 0x49;
const I32_LE_U = 0x4d;
const I32_GE_U = 0x4f;
const I64_GE_U = 0x5a;
const I32_ADD = 0x6a;
const I64_ADD = 0x7c;
const I64_MUL = 0x7e;
const I64_OR = 0x84;
const I64_XOR = 0x85;
const I64_SHL = 0x86;
const I64_SHR_U = 0x88;
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const VOID = 0x40;
const I32 = 0x7f;
const I64 = 0x7e;

const c64 = (v: bigint) => [I64_CONST, ...sleb(v)];
const c32 = (v: number) => [I32_CONST, ...sleb(BigInt(v))];
/** The i64 on the stack rotated left by `r` (through local `tmp`). */
// biome-ignore format: WebAssembly code, several instructions a line
const rotl = (tmp: number, r: number) => [
  TEE, tmp, ...c64(BigInt(r)), I64_SHL, GET, tmp, ...c64(BigInt(64 - r)), I64_SHR_U, I64_OR,
];
const load64 = (ptr: number, offset: number) => [GET, ptr, I64_LOAD, 3, ...uleb(offset)];
/** xxh64's round: `acc` (local) = rotl(acc + input * P2, 31) * P1, input from the stack's code. */
// biome-ignore format: WebAssembly code, several instructions a line
const round = (acc: number, input: number[], tmp: number) => [
  GET, acc, ...input, ...c64(P2), I64_MUL, I64_ADD, ...rotl(tmp, 31), ...c64(P1), I64_MUL, SET,
  acc,
];

// init(s): the four lanes for seed 0.
const initBody = [
  ...[P1 + P2, P2, 0n, -P1].flatMap((v, i) => [GET, 0, ...c64(v), I64_STORE, 3, ...uleb(STATE + i * 8)]),
  END,
];

// stripes(s, p, end): every 32-byte stripe from p to end (a multiple of 32 past p) into the lanes.
// locals: 0 s, 1 p, 2 end, 3-6 lanes, 7 tmp
// biome-ignore format: WebAssembly code, several instructions a line
const stripesBody = [
  ...[0, 1, 2, 3].flatMap((i) => [GET, 0, I64_LOAD, 3, ...uleb(STATE + i * 8), SET, 3 + i]), BLOCK,
  VOID, LOOP, VOID, GET, 1, GET, 2, I32_GE_U, BR_IF, 1,
  ...[0, 1, 2, 3].flatMap((i) => round(3 + i, load64(1, i * 8), 7)), GET, 1, ...c32(32), I32_ADD,
  SET, 1, BR, 0, END, END,
  ...[0, 1, 2, 3].flatMap((i) => [GET, 0, GET, 3 + i, I64_STORE, 3, ...uleb(STATE + i * 8)]), END,
];

// finish(s, p, n, total) -> hash: the lanes merged (total >= 32) or P5, the n < 32 bytes left at p, avalanche.
// locals: 0 s, 1 p, 2 n, 3 total, 4 h, 5 tmp, 6 end
// biome-ignore format: WebAssembly code, several instructions a line
const mergeLane = (lane: number) => [
  GET, 4, GET, 0, I64_LOAD, 3, ...uleb(STATE + lane * 8), ...c64(P2), I64_MUL, ...rotl(5, 31),
  ...c64(P1), I64_MUL, I64_XOR, ...c64(P1), I64_MUL, ...c64(P4), I64_ADD, SET, 4,
];
// biome-ignore format: WebAssembly code, several instructions a line
const finishBody = [
  GET, 3, ...c64(32n), I64_GE_U, IF, VOID, ...[ [0, 1], [1, 7], [2, 12], [3, 18],
  ].flatMap(([lane, r], i) => [ GET, 0, I64_LOAD, 3, ...uleb(STATE + lane! * 8), ...rotl(5, r!),
  ...(i > 0 ? [I64_ADD] : []), ]), SET, 4, ...[0, 1, 2, 3].flatMap(mergeLane), ELSE, ...c64(P5),
  SET, 4, END, GET, 4, GET, 3, I64_ADD, SET, 4, GET, 1, GET, 2, I32_ADD, SET, 6,
  // 8 bytes at a time
  BLOCK, VOID, LOOP, VOID, GET, 1, ...c32(8), I32_ADD, GET, 6, I32_LE_U, I32_EQZ,
  BR_IF, 1, ...load64(1, 0), ...c64(P2), I64_MUL, ...rotl(5, 31), ...c64(P1), I64_MUL, GET, 4,
  I64_XOR, ...rotl(5, 27), ...c64(P1), I64_MUL, ...c64(P4), I64_ADD, SET, 4, GET, 1, ...c32(8),
  I32_ADD, SET, 1, BR, 0, END, END,
  // 4 bytes
  GET, 1, ...c32(4), I32_ADD, GET, 6, I32_LE_U, IF, VOID, GET, 4, GET, 1, I64_LOAD32_U, 2, 0,
  ...c64(P1), I64_MUL, I64_XOR, ...rotl(5, 23), ...c64(P2), I64_MUL, ...c64(P3), I64_ADD, SET, 4,
  GET, 1, ...c32(4), I32_ADD, SET, 1, END,
  // bytes
  BLOCK, VOID, LOOP, VOID, GET, 1, GET, 6, I32_LT_U, I32_EQZ, BR_IF, 1, GET, 4, GET, 1,
  I64_LOAD8_U, 0, 0, ...c64(P5), I64_MUL, I64_XOR, ...rotl(5, 11), ...c64(P1), I64_MUL, SET, 4,
  GET, 1, ...c32(1), I32_ADD, SET, 1, BR, 0, END, END,
  // avalanche
  ...[ [33, P2], [29, P3], ].flatMap(([s, p]) => [ GET, 4, GET, 4, ...c64(BigInt(s!)), I64_SHR_U,
  I64_XOR, ...c64(p as bigint), I64_MUL, SET, 4, ]), GET, 4, GET, 4, ...c64(32n), I64_SHR_U,
  I64_XOR, END,
];

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, "latin1")];
function code(locals: Array<[number, number]>, body: number[]): number[] {
  const b = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...body];
  return [...uleb(b.length), ...b];
}

/** The module's bytes. */
function moduleBytes(): Uint8Array {
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(
      1,
      vec([
        [0x60, ...vec([[I32]]), ...vec([])],
        [0x60, ...vec([[I32], [I32], [I32]]), ...vec([])],
        [0x60, ...vec([[I32], [I32], [I32], [I64]]), ...vec([[I64]])],
      ]),
    ),
    ...section(3, vec([[0], [1], [2]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(
      7,
      vec([
        [...name("memory"), 0x02, 0],
        [...name("init"), 0x00, 0],
        [...name("stripes"), 0x00, 1],
        [...name("finish"), 0x00, 2],
      ]),
    ),
    ...section(
      10,
      vec([
        code([], initBody),
        code([[5, I64]], stripesBody),
        code(
          [
            [2, I64],
            [1, I32],
          ],
          finishBody,
        ),
      ]),
    ),
  ];
  return Uint8Array.from(bytes);
}

/** A running xxh64 of bytes fed in pieces. */
export interface Xxh64State {
  update(bytes: Uint8Array): void;
  /** The hash of everything fed (unsigned, as baselines hold it). */
  digest(): bigint;
}

/** The module's memory, as used here (the project's TypeScript libs declare no WebAssembly). */
interface Memory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The parts of the WebAssembly global used here. */
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object) => { exports: unknown };
    };
  }
).WebAssembly;

/** The module's exports. */
interface Exports {
  memory: Memory;
  init(s: number): void;
  stripes(s: number, p: number, end: number): void;
  finish(s: number, p: number, n: number, total: bigint): bigint;
}

/** xxh64 (seed 0): one-shot, or fed in pieces. */
export class Xxh64 {
  readonly #x: Exports;
  #mem: Uint8Array;

  constructor() {
    const instance = new wasm.Instance(new wasm.Module(moduleBytes()));
    this.#x = instance.exports as unknown as Exports;
    this.#mem = new Uint8Array(this.#x.memory.buffer);
  }

  /** The module's memory, with room for `n` input bytes. */
  #room(n: number): Uint8Array {
    const need = INPUT + n;
    if (need > this.#mem.length) {
      this.#x.memory.grow(Math.ceil((need - this.#mem.length) / 65536));
      this.#mem = new Uint8Array(this.#x.memory.buffer);
    }
    return this.#mem;
  }

  /** xxh64 of `bytes`. */
  h64(bytes: Uint8Array): bigint {
    const n = bytes.length;
    this.#room(n).set(bytes, INPUT);
    const whole = n & ~31;
    const x = this.#x;
    if (whole > 0) {
      x.init(STATE);
      x.stripes(STATE, INPUT, INPUT + whole);
    }
    return BigInt.asUintN(64, x.finish(STATE, INPUT + whole, n & 31, BigInt(n)));
  }

  /** A hash fed in pieces (any number at once: each keeps its lanes, the module's memory is scratch). */
  create(): Xxh64State {
    const x = this.#x;
    let total = 0;
    /** The last bytes fed that do not fill a stripe (< 32). */
    let held: Uint8Array = new Uint8Array(0);
    const lanes = new BigUint64Array(4);
    x.init(STATE);
    lanes.set(new BigUint64Array(this.#mem.buffer, STATE, 4));
    return {
      update: (bytes) => {
        total += bytes.length;
        const n = held.length + bytes.length;
        const mem = this.#room(n);
        mem.set(held, INPUT);
        mem.set(bytes, INPUT + held.length);
        const whole = n & ~31;
        if (whole > 0) {
          new BigUint64Array(mem.buffer, STATE, 4).set(lanes);
          x.stripes(STATE, INPUT, INPUT + whole);
          lanes.set(new BigUint64Array(mem.buffer, STATE, 4));
        }
        held = mem.slice(INPUT + whole, INPUT + n);
      },
      digest: () => {
        const mem = this.#room(held.length);
        mem.set(held, INPUT);
        new BigUint64Array(mem.buffer, STATE, 4).set(lanes);
        return BigInt.asUintN(64, x.finish(STATE, INPUT, held.length, BigInt(total)));
      },
    };
  }
}
