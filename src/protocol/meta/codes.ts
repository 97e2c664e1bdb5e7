/**
 * Reply codes of the meta protocol and of the few classic commands the client also sends
 * (`stats`, `version`, `flush_all`). The parser maps each reply line to one of these numbers.
 */

/** `VA <size> <flags>*` + data block: a value. */
export const VA = 1;
/** `HD <flags>*`: success, no value. */
export const HD = 2;
/** `EN`: miss (1.6.18 may echo `O` and `k`). */
export const EN = 3;
/** `NS`: not stored. */
export const NS = 4;
/** `EX`: CAS mismatch (exists). */
export const EX = 5;
/** `NF`: not found. */
export const NF = 6;
/** `MN`: end of a quiet pipeline (answer to `mn`). */
export const MN = 7;
/** `STAT <name> <value>`: one line of `stats`. */
export const STAT = 9;
/** `END`: end of `stats`. */
export const END = 10;
/** `VERSION <v>`. */
export const VERSION = 11;
/** `OK`: answer to `flush_all`. */
export const OK = 12;
/** `ERROR`: unknown command. */
export const ERROR = 13;
/** `CLIENT_ERROR <msg>`. */
export const CLIENT_ERROR = 14;
/** `SERVER_ERROR <msg>`. */
export const SERVER_ERROR = 15;
/** `STORED`: answer to the ASCII-auth `set`. */
export const STORED = 16;

/** The code of a two-letter meta reply from its first two bytes, or -1 when they are none. */
export function metaCode(first: number, second: number): number {
  switch ((first << 8) | second) {
    case 0x5641:
      return VA;
    case 0x4844:
      return HD;
    case 0x454e:
      return EN;
    case 0x4e53:
      return NS;
    case 0x4558:
      return EX;
    case 0x4e46:
      return NF;
    case 0x4d4e:
      return MN;
    case 0x4f4b:
      return OK;
    default:
      return -1;
  }
}

/** Printable name of a code, for error messages. */
export const CODE_NAMES = [
  "?",
  "VA",
  "HD",
  "EN",
  "NS",
  "EX",
  "NF",
  "MN",
  "?",
  "STAT",
  "END",
  "VERSION",
  "OK",
  "ERROR",
  "CLIENT_ERROR",
  "SERVER_ERROR",
  "STORED",
] as const;

/** Bit of an uppercase flag letter in `MetaReply.upper` (e.g. `W`, `X`, `Z`). */
export const upperBit = (letter: string): number => 1 << (letter.charCodeAt(0) - 65);
/** Bit of a lowercase flag letter in `MetaReply.lower` (e.g. `b`). */
export const lowerBit = (letter: string): number => 1 << (letter.charCodeAt(0) - 97);

/** `W`: this client won the right to recache. */
export const FLAG_WIN = upperBit("W");
/** `X`: the item is stale. */
export const FLAG_STALE = upperBit("X");
/** `Z`: another client already won (the right to recache is claimed). */
export const FLAG_CLAIMED = upperBit("Z");
/** `b`: the echoed key is base64. */
export const FLAG_BASE64 = lowerBit("b");
