/**
 * What a connection sends of its own, and the replies to it: first on every new socket, before any
 * caller's request, authentication (SASL PLAIN for binary, ASCII auth for meta and text) and the `version`
 * handshake; later, the no-op that nudges a TLS server (see `watchdog.ts`).
 * A refused authentication throws `AuthError` (the connection then fails everything it holds and
 * closes); an unexpected handshake reply throws `ProtocolError` (the peer is not a memcached we can
 * talk to). Messages never include the credentials.
 */
import { AuthError, ProtocolError } from "../errors.js";
import {
  AUTH_CONTINUE,
  AUTH_ERROR,
  OK,
  SASL_AUTH,
  SASL_LIST_MECHS,
  NOOP,
  UNKNOWN_COMMAND,
  VERSION as BINARY_VERSION,
} from "../protocol/binary/codes.js";
import type { BinaryReply } from "../protocol/binary/parser.js";
import { CLIENT_ERROR, ERROR, MN, STORED, VERSION } from "../protocol/meta/codes.js";
import type { MetaReply } from "../protocol/meta/parser.js";
import * as K from "../protocol/reply.js";
import type { TextReply } from "../protocol/text/reply.js";
import { Frame, Op } from "../protocol/frame.js";
import type { WireProtocol } from "../protocol/reply.js";
import { Attempt, type AttemptSink, type ReplyHandler } from "./attempt.js";
import type { Credentials } from "./credentials.js";

/** The handlers of one protocol for the connection's own first requests. */
export interface HandshakeHandlers {
  version: ReplyHandler;
  /** Binary only: SASL list mechanisms. */
  mechs: ReplyHandler;
  auth: ReplyHandler;
  /** A no-op the connection sends of its own (the TLS nudge); its answer is only checked. */
  noop: ReplyHandler;
}

function checkOpaque(req: Attempt, reply: BinaryReply): void {
  if (reply.opaque !== req.opaque) {
    throw new ProtocolError(`handshake: reply opaque ${reply.opaque} does not match ${req.opaque}`);
  }
}

const META: HandshakeHandlers = {
  noop: {
    onReply(req, reply: MetaReply) {
      if (reply.code !== MN) throw new ProtocolError(`expected MN, got ${JSON.stringify(reply.line())}`);
      req.succeed(true);
      return true;
    },
  },
  version: {
    onReply(req, reply: MetaReply) {
      if (reply.code === CLIENT_ERROR && reply.text().includes("unauthenticated")) {
        throw new AuthError("the server requires authentication (configure `auth`)");
      }
      if (reply.code !== VERSION) {
        throw new ProtocolError(`handshake: expected VERSION, got ${JSON.stringify(reply.line())}`);
      }
      req.succeed(reply.text());
      return true;
    },
  },
  mechs: {
    onReply(_req, reply: MetaReply) {
      throw new ProtocolError(`handshake: unexpected ${JSON.stringify(reply.line())}`);
    },
  },
  // ASCII auth (memcached -Y): `set _ 0 -1 <n>` + `username password`, answered STORED or
  // CLIENT_ERROR (after which memcached closes the connection).
  auth: {
    onReply(req, reply: MetaReply) {
      if (reply.code === STORED) {
        req.succeed(true);
        return true;
      }
      if (reply.code === CLIENT_ERROR) {
        throw new AuthError(
          `authentication refused by the server (CLIENT_ERROR ${reply.text().slice(0, 80)})`,
        );
      }
      if (reply.code === ERROR) throw new AuthError("the server does not accept ASCII authentication");
      throw new ProtocolError(`auth: unexpected reply ${JSON.stringify(reply.line())}`);
    },
  },
};

const BINARY: HandshakeHandlers = {
  noop: {
    onReply(req, reply: BinaryReply) {
      checkOpaque(req, reply);
      if (reply.opcode !== NOOP) throw new ProtocolError(`expected a Noop response, got ${reply.line()}`);
      req.succeed(true);
      return true;
    },
  },
  version: {
    onReply(req, reply: BinaryReply) {
      checkOpaque(req, reply);
      if (reply.status === AUTH_ERROR) {
        throw new AuthError("the server requires authentication (configure `auth`)");
      }
      if (reply.opcode !== BINARY_VERSION || reply.status !== OK) {
        throw new ProtocolError(`handshake: expected a Version response, got ${reply.line()}`);
      }
      req.succeed(reply.text());
      return true;
    },
  },
  mechs: {
    onReply(req, reply: BinaryReply) {
      checkOpaque(req, reply);
      if (reply.opcode !== SASL_LIST_MECHS) throw new ProtocolError(`SASL: unexpected ${reply.line()}`);
      if (reply.status === UNKNOWN_COMMAND) {
        throw new AuthError("the server does not support SASL (start memcached with -S)");
      }
      if (reply.status !== OK) throw new AuthError(`SASL list mechanisms failed: ${reply.name()}`);
      const mechs = reply.text().split(/\s+/);
      if (!mechs.includes("PLAIN")) {
        throw new AuthError(`the server offers SASL ${JSON.stringify(reply.text())}, not PLAIN`);
      }
      req.succeed(mechs);
      return true;
    },
  },
  auth: {
    onReply(req, reply: BinaryReply) {
      checkOpaque(req, reply);
      if (reply.opcode !== SASL_AUTH) throw new ProtocolError(`SASL: unexpected ${reply.line()}`);
      if (reply.status === OK) {
        req.succeed(true);
        return true;
      }
      if (reply.status === AUTH_ERROR)
        throw new AuthError("authentication refused by the server (SASL PLAIN)");
      if (reply.status === AUTH_CONTINUE) throw new AuthError("SASL PLAIN asked for another step");
      throw new AuthError(`SASL auth failed: ${reply.name()}`);
    },
  },
};

/**
 * Text: the same requests as meta (ASCII auth, `version`); the no-op is a `version` too. twemproxy
 * does not answer `version` itself but forwards it to one of its servers: when that one is down the
 * answer is a `SERVER_ERROR`, which still shows a text-speaking peer and the stream in step.
 */
const TEXT: HandshakeHandlers = {
  noop: {
    onReply(req, reply: TextReply) {
      if (reply.kind !== K.VERSION && reply.kind !== K.SERVER_ERROR)
        throw new ProtocolError(`expected VERSION, got ${JSON.stringify(reply.line())}`);
      req.succeed(true);
      return true;
    },
  },
  version: {
    onReply(req, reply: TextReply) {
      if (reply.kind === K.CLIENT_ERROR && reply.text().includes("unauthenticated")) {
        throw new AuthError("the server requires authentication (configure `auth`)");
      }
      if (reply.kind === K.SERVER_ERROR) {
        req.succeed("");
        return true;
      }
      if (reply.kind !== K.VERSION) {
        throw new ProtocolError(`handshake: expected VERSION, got ${JSON.stringify(reply.line())}`);
      }
      req.succeed(reply.text());
      return true;
    },
  },
  mechs: META.mechs,
  auth: {
    onReply(req, reply: TextReply) {
      if (reply.kind === K.DONE && reply.word === "STORED") {
        req.succeed(true);
        return true;
      }
      if (reply.kind === K.CLIENT_ERROR) {
        throw new AuthError(
          `authentication refused by the server (CLIENT_ERROR ${reply.text().slice(0, 80)})`,
        );
      }
      if (reply.kind === K.UNEXPECTED) throw new AuthError("the server does not accept ASCII authentication");
      throw new ProtocolError(`auth: unexpected reply ${JSON.stringify(reply.line())}`);
    },
  },
};

/** The handshake handlers of a protocol. */
export function handshakeHandlers(protocol: WireProtocol): HandshakeHandlers {
  return protocol === "binary" ? BINARY : protocol === "text" ? TEXT : META;
}

/** The sink of a connection's own attempts: a failure there throws from its handler instead. */
const OWN: AttemptSink<null, null> = { succeeded() {}, failed() {} };
/** The nudges' sink: the same, and what tells a nudge from any other attempt (a probe is a no-op too). */
const NUDGE: AttemptSink<null, null> = { succeeded() {}, failed() {} };

/** An attempt of the connection's own, due within `timeout` ms from now. */
function own(
  op: Op,
  handler: ReplyHandler,
  key: string,
  timeout: number,
  value: Buffer | null = null,
  sink: AttemptSink<null, null> = OWN,
): Attempt {
  const frame = new Frame(op);
  frame.key = key;
  if (value !== null) {
    frame.value = value;
    frame.valueLength = value.length;
  }
  const a = new Attempt(frame, handler, sink, null, null, timeout) as Attempt;
  a.deadline = performance.now() + timeout;
  return a;
}

/** What goes first on a new socket: authentication when `auth` is set, then `version` when `handshake`. */
export function helloAttempts(
  protocol: WireProtocol,
  auth: Credentials | null,
  handshake: boolean,
  timeout: number,
): Attempt[] {
  const h = handshakeHandlers(protocol);
  const binary = protocol === "binary";
  const hello: Attempt[] = [];
  if (auth !== null) {
    if (binary) hello.push(own(Op.AuthMechs, h.mechs, "", timeout));
    const payload = binary ? auth.saslPlain() : auth.ascii();
    hello.push(own(Op.Auth, h.auth, binary ? "PLAIN" : "_", timeout, payload));
  }
  if (handshake) hello.push(own(Op.Version, h.version, "", timeout));
  return hello;
}

/** The no-op that wakes a stalled TLS server up; its reply is only checked. */
export function nudgeAttempt(protocol: WireProtocol, timeout: number): Attempt {
  return own(Op.Noop, handshakeHandlers(protocol).noop, "", timeout, null, NUDGE);
}

/** Whether `a` is the connection's own (its hello or a nudge), not a caller's. */
export function isOwn(a: Attempt): boolean {
  return a.sink === OWN || a.sink === NUDGE;
}

/** Whether `a` is a nudge: nobody waits for its reply (memcached may hold it until more bytes come). */
export function isNudge(a: Attempt): boolean {
  return a.sink === NUDGE;
}
