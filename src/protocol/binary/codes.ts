/**
 * Constants of memcached's binary protocol: magic bytes, opcodes, response statuses.
 * Layout of every packet: a 24-byte header, then extras, key and value (lengths in the header).
 *
 *   byte  0      1       2-3      4        5         6-7              8-11        12-15   16-23
 *       magic  opcode  key len  extras  data type  vbucket|status  total body   opaque   CAS
 */

/** Header length. */
export const HEADER = 24;
/** Request magic. */
export const REQUEST = 0x80;
/** Response magic. */
export const RESPONSE = 0x81;

// Opcodes used by the client.
export const GET = 0x00;
export const SET = 0x01;
export const ADD = 0x02;
export const REPLACE = 0x03;
export const DELETE = 0x04;
export const INCREMENT = 0x05;
export const DECREMENT = 0x06;
export const FLUSH = 0x08;
export const NOOP = 0x0a;
export const VERSION = 0x0b;
export const GETKQ = 0x0d;
export const APPEND = 0x0e;
export const PREPEND = 0x0f;
export const STAT = 0x10;
export const SETQ = 0x11;
export const DELETEQ = 0x14;
export const TOUCH = 0x1c;
export const GAT = 0x1d;
export const SASL_LIST_MECHS = 0x20;
export const SASL_AUTH = 0x21;
export const SASL_STEP = 0x22;

// Response statuses.
export const OK = 0x00;
export const KEY_NOT_FOUND = 0x01;
export const KEY_EXISTS = 0x02;
export const VALUE_TOO_LARGE = 0x03;
export const INVALID_ARGUMENTS = 0x04;
export const NOT_STORED = 0x05;
export const NON_NUMERIC = 0x06;
export const AUTH_ERROR = 0x20;
export const AUTH_CONTINUE = 0x21;
export const UNKNOWN_COMMAND = 0x81;
export const OUT_OF_MEMORY = 0x82;
export const NOT_SUPPORTED = 0x83;
export const INTERNAL_ERROR = 0x84;
export const BUSY = 0x85;
export const TEMPORARY_FAILURE = 0x86;

/** Expiration meaning "do not create" for increment/decrement. */
export const NO_CREATE = 0xffffffff;

const OPCODE_NAMES: Record<number, string> = {
  [GET]: "Get",
  [SET]: "Set",
  [ADD]: "Add",
  [REPLACE]: "Replace",
  [DELETE]: "Delete",
  [INCREMENT]: "Increment",
  [DECREMENT]: "Decrement",
  [FLUSH]: "Flush",
  [NOOP]: "Noop",
  [VERSION]: "Version",
  [GETKQ]: "GetKQ",
  [APPEND]: "Append",
  [PREPEND]: "Prepend",
  [STAT]: "Stat",
  [SETQ]: "SetQ",
  [DELETEQ]: "DeleteQ",
  [TOUCH]: "Touch",
  [GAT]: "GAT",
  [SASL_LIST_MECHS]: "SASL list mechs",
  [SASL_AUTH]: "SASL auth",
  [SASL_STEP]: "SASL step",
};

const STATUS_NAMES: Record<number, string> = {
  [OK]: "no error",
  [KEY_NOT_FOUND]: "key not found",
  [KEY_EXISTS]: "key exists",
  [VALUE_TOO_LARGE]: "value too large",
  [INVALID_ARGUMENTS]: "invalid arguments",
  [NOT_STORED]: "item not stored",
  [NON_NUMERIC]: "incr/decr on a non-numeric value",
  [AUTH_ERROR]: "authentication error",
  [AUTH_CONTINUE]: "authentication continue",
  [UNKNOWN_COMMAND]: "unknown command",
  [OUT_OF_MEMORY]: "out of memory",
  [NOT_SUPPORTED]: "not supported",
  [INTERNAL_ERROR]: "internal error",
  [BUSY]: "busy",
  [TEMPORARY_FAILURE]: "temporary failure",
};

/** `"Get"`, or the opcode in hex. */
export function opcodeName(opcode: number): string {
  return OPCODE_NAMES[opcode] ?? `opcode 0x${opcode.toString(16).padStart(2, "0")}`;
}

/** `"key not found"`, or the status in hex. */
export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `status 0x${status.toString(16).padStart(4, "0")}`;
}
