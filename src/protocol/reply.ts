/** A parsed reply of either protocol, as the parsers hand it to the connection. */
import type { BinaryReply } from "./binary/parser.js";
import type { MetaReply } from "./meta/parser.js";

/** A parsed reply of either protocol (a connection speaks one). */
export type Reply = MetaReply | BinaryReply;
