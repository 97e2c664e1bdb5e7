/**
 * memcached with security on, for tests and benches: SASL (`-S`, a sasldb made with `saslpasswd2`),
 * ASCII auth (`-Y <authfile>`) and TLS (`-Z`, with a test CA and certificates made by `openssl`).
 * Everything lives in a temporary directory removed at exit.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findTool, type MemcachedOptions, type MemcachedServer, startMemcached } from "./memcached.ts";

const dirs: string[] = [];
process.once("exit", () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `memcachio-${name}-`));
  dirs.push(d);
  return d;
}

/** memcached -S: binary protocol only, SASL PLAIN against a sasldb holding `users`. */
export async function startSaslMemcached(
  users: Record<string, string>,
  opts: MemcachedOptions = {},
): Promise<MemcachedServer> {
  const saslpasswd2 = findTool("saslpasswd2", "sasl2-bin");
  const dir = tempDir("sasl");
  const db = join(dir, "sasldb2");
  for (const [user, password] of Object.entries(users)) {
    // -p: the password comes on stdin; -a memcached: the application name memcached looks up.
    execFileSync(saslpasswd2, ["-a", "memcached", "-c", "-p", "-f", db, user], { input: password });
  }
  writeFileSync(join(dir, "memcached.conf"), `mech_list: plain\nsasldb_path: ${db}\n`);
  return startMemcached({
    ...opts,
    args: ["-S", ...(opts.args ?? [])],
    env: { ...opts.env, SASL_CONF_PATH: dir },
  });
}

/** memcached -Y: ASCII (meta) authentication against an auth file of `user:password` lines. */
export async function startAuthfileMemcached(
  users: Record<string, string>,
  opts: MemcachedOptions = {},
): Promise<MemcachedServer> {
  const dir = tempDir("authfile");
  const file = join(dir, "authfile");
  writeFileSync(
    file,
    Object.entries(users)
      .map(([u, p]) => `${u}:${p}\n`)
      .join(""),
    { mode: 0o600 },
  );
  return startMemcached({ ...opts, args: ["-Y", file, ...(opts.args ?? [])] });
}

/** PEM files of a test PKI. */
export interface TestPki {
  /** The CA that signed the server and client certificates. */
  ca: string;
  /** Another CA, which signed nothing here (a "wrong CA" for clients). */
  otherCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Paths of the same, for memcached's `-o ssl_*` options. */
  paths: { ca: string; serverCert: string; serverKey: string };
}

let pki: TestPki | undefined;

/**
 * A test CA, a server certificate for `localhost` / 127.0.0.1 / ::1 and a client certificate, all
 * signed by it, plus an unrelated CA. Made once per process with openssl (EC P-256, 1 day).
 */
export function testPki(): TestPki {
  if (pki !== undefined) return pki;
  const openssl = findTool("openssl", "openssl");
  const dir = tempDir("tls");
  const p = (f: string) => join(dir, f);
  const run = (...args: string[]) => execFileSync(openssl, args, { stdio: ["ignore", "ignore", "pipe"] });
  const key = (f: string) => run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p(f));
  for (const ca of ["ca", "other-ca"]) {
    key(`${ca}.key`);
    run(
      "req",
      "-x509",
      "-new",
      "-key",
      p(`${ca}.key`),
      "-days",
      "1",
      "-subj",
      `/CN=memcachio test ${ca}`,
      "-out",
      p(`${ca}.pem`),
    );
  }
  const leaf = (name: string, ext: string) => {
    key(`${name}.key`);
    run("req", "-new", "-key", p(`${name}.key`), "-subj", `/CN=${name}`, "-out", p(`${name}.csr`));
    writeFileSync(p(`${name}.ext`), ext);
    run(
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p("ca.pem"),
      "-CAkey",
      p("ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      p(`${name}.ext`),
      "-out",
      p(`${name}.pem`),
    );
  };
  leaf("server", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n");
  leaf("client", "extendedKeyUsage=clientAuth\n");
  const read = (f: string) => readFileSync(p(f), "utf8");
  pki = {
    ca: read("ca.pem"),
    otherCa: read("other-ca.pem"),
    serverCert: read("server.pem"),
    serverKey: read("server.key"),
    clientCert: read("client.pem"),
    clientKey: read("client.key"),
    paths: { ca: p("ca.pem"), serverCert: p("server.pem"), serverKey: p("server.key") },
  };
  return pki;
}

/**
 * memcached -Z with the test PKI's server certificate. `requireClientCert`: the server asks for a
 * client certificate signed by the test CA and refuses connections without one.
 */
export async function startTlsMemcached(
  opts: MemcachedOptions & { requireClientCert?: boolean } = {},
): Promise<MemcachedServer> {
  const { paths } = testPki();
  let o = `ssl_chain_cert=${paths.serverCert},ssl_key=${paths.serverKey}`;
  if (opts.requireClientCert === true) o += `,ssl_ca_cert=${paths.ca},ssl_verify_mode=2`;
  return startMemcached({ ...opts, args: ["-Z", "-o", o, ...(opts.args ?? [])] });
}
