// Exit hygiene check, run as a child process by spec/integration/hygiene.spec.ts
// (needs `npm run build`: it imports the built package through its self-reference
// "smtpkit", or the entry file named by SMTPKIT_ENTRY: the spec passes a private
// copy of dist/esm, so a concurrent `npm run build` cannot pull it away).
//
// Runs failing operations against small local servers (timeouts, a closed port,
// an interrupted send, a refused recipient, a proxy failure, ...), closes its
// own servers, prints one JSON line and then simply returns: the process must
// exit by itself, with nothing left (timer, socket) keeping the event loop alive.
// An unhandled rejection or an uncaught exception prints a line and exits 1.
import net from "node:net";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";

process.on("unhandledRejection", (e) => {
  console.log(`unhandledRejection: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});
process.on("uncaughtException", (e) => {
  console.log(`uncaughtException: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});

const { Smtp, SmtpError, SmtpPool } = await import(process.env.SMTPKIT_ENTRY ? pathToFileURL(process.env.SMTPKIT_ENTRY).href : "smtpkit");

const sockets = new Set();
const servers = [];

/** A raw server on 127.0.0.1:0; `onLine(line, sock)` for each CRLF line, `onConnect(sock)` first. */
async function server({ onConnect = () => {}, onLine = () => {} }) {
  const srv = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    let buf = "";
    let inData = false;
    const api = {
      reply: (t) => sock.writable && sock.write(`${t}\r\n`),
      startData: () => {
        inData = true;
      },
    };
    sock.on("data", (chunk) => {
      buf += chunk.toString("latin1");
      let nl;
      while ((nl = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            onLine(".", sock, api);
          }
          continue;
        }
        onLine(line, sock, api);
      }
    });
    onConnect(sock, api);
  });
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  servers.push(srv);
  return srv.address().port;
}

/** A plain SMTP dialogue with hooks: `rcpt` / `endOfData` replies (endOfData null = stay silent). */
function smtp({ rcpt = "250 2.1.5 ok", endOfData = "250 2.0.0 queued" } = {}) {
  return {
    onConnect: (_s, api) => api.reply("220 exit-check.test ESMTP"),
    onLine: (line, sock, api) => {
      const verb = line.split(/[ :]/, 1)[0].toUpperCase();
      if (verb === "EHLO") api.reply("250-exit-check.test\r\n250 8BITMIME");
      else if (verb === "MAIL" || verb === "RSET" || verb === "NOOP") api.reply("250 2.0.0 ok");
      else if (verb === "RCPT") api.reply(rcpt);
      else if (verb === "DATA") {
        api.reply("354 go");
        api.startData();
      } else if (line === ".") {
        if (endOfData !== null) api.reply(endOfData);
      } else if (verb === "QUIT") {
        api.reply("221 bye");
        sock.end();
      } else api.reply("502 no");
    },
  };
}

async function closedPort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

const base = (port, extra = {}) => ({
  mailServer: "127.0.0.1",
  mailPort: port,
  timeout: 1,
  from: "exit@example.com",
  sendTo: "rcpt@example.com",
  subject: "exit check",
  messageText: "body\r\n",
  ...extra,
});

const results = [];
async function expectFailure(name, expected, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: false, got: "success" });
  } catch (e) {
    const code = e instanceof SmtpError ? e.code : `non-SmtpError ${String(e)}`;
    results.push({ name, ok: expected.includes(code), got: code, ms: Date.now() - started });
  }
}

const silent = await server({});
const refusing = await server(smtp({ rcpt: "550 5.1.1 no such user" }));
const stallAfterData = await server(smtp({ endOfData: null }));
const greetThenClose = await server({ onConnect: (s, api) => { api.reply("220 hi"); s.end(); } });
const garbageProxy = await server({ onConnect: (s) => s.once("data", () => s.write("NOT HTTP AT ALL\r\n\r\n")) });
const good = await server(smtp());
const closed = await closedPort();

await expectFailure("no greeting (Timeout)", [10060], () => new Smtp(base(silent)).send());
await expectFailure("no greeting (AbsoluteTimeout)", [10060], () => {
  const m = new Smtp(base(silent, { timeout: 1 }));
  m.config("AbsoluteTimeout=true");
  return m.send();
});
await expectFailure("implicit TLS handshake never answered", [10060], () => new Smtp(base(silent, { sslStartMode: 1 })).send());
await expectFailure("closed port", [10061], () => new Smtp(base(closed)).send());
await expectFailure("closed port via connect()", [10061], () => new Smtp(base(closed)).connect());
await expectFailure("greeting then close", [607], () => new Smtp(base(greetThenClose)).send());
await expectFailure("refused recipient", [161], () => new Smtp(base(refusing)).send());
await expectFailure("refused recipient on a connect()ed object", [161], async () => {
  const m = new Smtp(base(refusing));
  await m.connect();
  try {
    await m.send();
  } finally {
    await m.disconnect();
  }
});
await expectFailure("stall after DATA", [10060], () => new Smtp(base(stallAfterData)).send());
await expectFailure("proxy answers garbage", [118], () => new Smtp(base(good, { firewallType: 1, firewallHost: "127.0.0.1", firewallPort: garbageProxy })).send());
await expectFailure("proxy port closed", [118, 10061], () => new Smtp(base(good, { firewallType: 2, firewallHost: "127.0.0.1", firewallPort: closed })).send());
await expectFailure("interrupted send (slow body stream)", [301], async () => {
  const m = new Smtp(base(good, { timeout: 30 }));
  let n = 0;
  m.setMessageStream(new Readable({ read() { setTimeout(() => this.push(n++ < 1000 ? Buffer.from(`line ${n}\r\n`) : null), 20); } }));
  const p = m.send();
  setTimeout(() => void m.interrupt(), 200);
  return p;
});
await expectFailure("AbortSignal while waiting for the greeting", [301], () => new Smtp(base(silent, { timeout: 30 })).send({ signal: AbortSignal.timeout(200) }));
await expectFailure("several objects failing at once", [10060, 10061, 161], () =>
  Promise.all([
    new Smtp(base(silent)).send().catch((e) => e),
    new Smtp(base(closed)).send().catch((e) => e),
    new Smtp(base(refusing)).send().catch((e) => e),
  ]).then((errs) => {
    throw errs.find((e) => !(e instanceof SmtpError)) ?? errs[0];
  }),
);
await expectFailure("pool: refused recipient, then close()", [161], async () => {
  const pool = new SmtpPool(base(refusing));
  try {
    await pool.send({ from: "exit@example.com", sendTo: "rcpt@example.com", subject: "pool", messageText: "x\r\n" });
  } finally {
    await pool.close();
  }
});
// The fire-and-forget property setters report through the Error event, never as a rejection.
await new Promise((resolve) => {
  const m = new Smtp(base(closed));
  m.on("Error", (e) => {
    results.push({ name: "connected = true (assignment) to a closed port", ok: e.errorCode === 10061, got: e.errorCode });
    resolve();
  });
  m.connected = true;
});
// And one success, so a working path is part of the check too.
await new Smtp(base(good)).send().then(
  (r) => results.push({ name: "good send", ok: r.replyCode === 250, got: r.replyCode }),
  (e) => results.push({ name: "good send", ok: false, got: String(e) }),
);

for (const s of sockets) s.destroy();
await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));

console.log(JSON.stringify({ done: Date.now(), results }));
// Unref'd: does not keep the process alive itself, only reports if something else does.
setTimeout(() => console.log(`STILL ALIVE: ${JSON.stringify(process.getActiveResourcesInfo())}`), 4_000).unref();
