import { createHash, type Hash } from "node:crypto";
import { DigestMismatchError, InvalidDigestError } from "@molt/oci";

/** Tracks the sha256 of streamed bytes and checks it against an expected `sha256:<hex>`. */
export class ChecksumTap {
  readonly hash: Hash = createHash("sha256");
  readonly #expected: string | undefined;
  readonly #what: string;

  /** @throws {@link InvalidDigestError} when `expected` is not `sha256:` + 64 hex digits. */
  constructor(expected: string | undefined, what: string) {
    if (expected !== undefined && !/^sha256:[0-9a-f]{64}$/.test(expected))
      throw new InvalidDigestError(expected);
    this.#expected = expected;
    this.#what = what;
  }

  /** @throws {@link DigestMismatchError} when a checksum was expected and differs. */
  verify(): string {
    const actual = `sha256:${this.hash.digest("hex")}`;
    if (this.#expected !== undefined && actual !== this.#expected) {
      throw new DigestMismatchError(this.#expected, actual, this.#what);
    }
    return actual;
  }
}
