#!/usr/bin/env node
// A timestamping TCP relay in front of an SMTP server: it notes the time at
// which every MAIL FROM command arrives, on the way to the real server.
//
//   node bench/mail-clock.mjs --target PORT
//
// Listens on 127.0.0.1 (a free port) and prints "listening <port>" on stdout
// when ready. Each client connection gets its own connection to
// 127.0.0.1:PORT; bytes are passed on unchanged in both directions. The
// client's side is parsed (command lines, DATA bodies up to <CRLF>.<CRLF>,
// BDAT payloads by their byte count) so that only real MAIL commands are
// timed, never a body line that happens to start with "MAIL FROM".
//
// The time of a MAIL command is performance.now() (this process's clock, in
// ms) when the data holding it was read. It is only compared with the times
// of other MAIL commands, so the clock's origin does not matter. A command is
// read after the client wrote it and before the server could answer it, which
// is what makes the sliding-window count an upper bound check: if the client
// started send k+L at least intervalMs after send k ended, their MAIL times
// here are more than intervalMs apart.
//
// Control on stdin, one command a line, answered with one JSON line on stdout:
//   peek   { connections, mails (count), open }
//   take   the same with `times` (every MAIL time, in order), then zeroes
// Exits when stdin closes (its parent went away) or on SIGTERM.
import { connect, createServer } from "node:net";
import { serveUnderControl } from "./child-control.mjs";

const argv = process.argv.slice(2);
const targetIndex = argv.indexOf("--target");
const target = targetIndex >= 0 ? Number(argv[targetIndex + 1]) : NaN;
if (!Number.isInteger(target) || target <= 0) {
  console.error("usage: node bench/mail-clock.mjs --target PORT");
  process.exit(2);
}

const END_OF_DATA = Buffer.from("\r\n.\r\n");
const CRLF = Buffer.from("\r\n");
let times = [];
let connections = 0;
const sockets = new Set();

const server = createServer((client) => {
  connections++;
  const upstream = connect(target, "127.0.0.1");
  for (const s of [client, upstream]) {
    s.setNoDelay(true);
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  }
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
  upstream.pipe(client);
  const st = { mode: "cmd", buf: Buffer.alloc(0), tail: CRLF, bdatLeft: 0 };
  client.on("data", (d) => {
    const now = performance.now();
    if (!upstream.write(d)) {
      client.pause();
      upstream.once("drain", () => client.resume());
    }
    st.buf = st.buf.length ? Buffer.concat([st.buf, d]) : d;
    parse(st, now);
  });
  client.on("end", () => upstream.end());
});

function parse(st, now) {
  for (;;) {
    if (st.mode === "cmd") {
      const lf = st.buf.indexOf(0x0a);
      if (lf < 0) return;
      const line = st.buf.toString("latin1", 0, lf).trimEnd();
      st.buf = st.buf.subarray(lf + 1);
      if (/^MAIL FROM:/i.test(line)) times.push(now);
      else if (/^DATA$/i.test(line)) {
        st.mode = "data";
        st.tail = CRLF;
      } else {
        const m = /^BDAT (\d+)/i.exec(line);
        if (m) {
          st.mode = "bdat";
          st.bdatLeft = Number(m[1]);
        }
      }
    } else if (st.mode === "data") {
      if (st.buf.length === 0) return;
      const joined = Buffer.concat([st.tail, st.buf]);
      const at = joined.indexOf(END_OF_DATA);
      if (at < 0) {
        st.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - 4)));
        st.buf = Buffer.alloc(0);
        return;
      }
      st.buf = st.buf.subarray(at + END_OF_DATA.length - st.tail.length);
      st.mode = "cmd";
    } else {
      const n = Math.min(st.bdatLeft, st.buf.length);
      st.bdatLeft -= n;
      st.buf = st.buf.subarray(n);
      if (st.bdatLeft > 0) return;
      st.mode = "cmd";
    }
  }
}

function report(take) {
  const r = { connections, mails: times.length, open: [...sockets].length };
  if (take) {
    r.times = times;
    times = [];
    connections = 0;
  }
  process.stdout.write(JSON.stringify(r) + "\n");
}

serveUnderControl(server, 0, sockets, report);
