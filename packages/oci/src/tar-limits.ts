/** Field limits shared by the tar header encoders (not part of the package's exports). */

/** Largest value of a 7-digit octal field (uid, gid, mode, device numbers). */
export const MAX_OCTAL_7 = 0o7777777;
/** Largest value of an 11-digit octal field (size, mtime). */
export const MAX_OCTAL_11 = 0o77777777777;
/** Names a ustar field holds as they are: ASCII without NUL. */
export const ASCII_RE = /^[\x01-\x7f]*$/;
