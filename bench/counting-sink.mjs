#!/usr/bin/env node
// A tiny SMTP sink that counts round trips ("flights") per message.
//
//   node bench/counting-sink.mjs [--chunking] [--port N]
//
// Listens on 127.0.0.1 (port 0 = a free one, the default) and prints
// "listening <port>" on stdout when ready. It advertises PIPELINING,
// 8BITMIME, ENHANCEDSTATUSCODES and, with --chunking, CHUNKING; it parses
// command lines, DATA bodies (up to <CRLF>.<CRLF>) and BDAT payloads (exact
// byte counts), answers every command and throws the mail away.
//
// Control on stdin, one command a line, answered with one JSON line on stdout:
//   peek   the counters so far
//   take   the counters so far, then zero them
// The sink exits when stdin closes (its parent went away) or on SIGTERM.
//
// A flight is one burst of client data that starts after the client has got
// every reply it was waiting for: data arriving after the sink last wrote a
// reply starts a new flight, data arriving before it belongs to the current
// one. Replies are written once per event-loop turn (setImmediate), so data
// events of one client write are coalesced, and they are held back while the
// client is still in the middle of something it never stops for (a partial
// command line, a BDAT payload, a DATA body): a write split by TCP still counts
// once. A flight is a "session" flight when it starts with EHLO, HELO, QUIT,
// NOOP, STARTTLS or AUTH, else a "message" flight, charged to the message the
// connection is working on; the first message of a connection is counted
// apart (no RSET before it). Several BDAT chunks sent back to back (a message
// larger than ChunkSize) count one flight per chunk reply the client saw
// before writing on; for small messages the count is exact.
import { createServer } from "node:net";
import { serveUnderControl } from "./child-control.mjs";

const argv = process.argv.slice(2);
const chunking = argv.includes("--chunking");
const portIndex = argv.indexOf("--port");
const port = portIndex >= 0 ? Number(argv[portIndex + 1]) : 0;

const CRLF = Buffer.from("\r\n");
const END_OF_DATA = Buffer.from("\r\n.\r\n");
const SESSION_VERBS = new Set(["EHLO", "HELO", "QUIT", "NOOP", "STARTTLS", "AUTH"]);
const MAX_LINE = 4096;

let counters = zero();
const sockets = new Set();

function zero() {
  return {
    connections: 0,
    messages: 0,
    commands: 0,
    bytesIn: 0,
    flights: 0,
    sessionFlights: 0,
    /** Flights and messages of the first transaction on each connection. */
    firstMessageFlights: 0,
    firstMessages: 0,
    /** Flights and messages of every later transaction. */
    laterMessageFlights: 0,
    laterMessages: 0,
  };
}

const server = createServer((sock) => {
  sock.setNoDelay(true);
  sockets.add(sock);
  counters.connections++;
  const c = {
    sock,
    mode: "cmd", // "cmd" | "data" | "bdat"
    buf: Buffer.alloc(0),
    /** Up to the last 4 body bytes seen, to find <CRLF>.<CRLF> across reads. */
    dataTail: CRLF,
    bodyBytes: 0,
    bdatLeft: 0,
    bdatLast: false,
    bdatSize: 0,
    bdatError: "",
    mail: false,
    rcpts: 0,
    /** Messages accepted on this connection. */
    done: 0,
    out: [],
    flushQueued: false,
    /** True once the sink has written a reply the client may be waiting for. */
    replied: true,
    classifyPending: false,
    quitting: false,
  };
  sock.on("data", (d) => onData(c, d));
  sock.on("error", () => {});
  sock.on("close", () => sockets.delete(sock));
  c.out.push("220 counting-sink ESMTP");
  flush(c);
});

function onData(c, d) {
  counters.bytesIn += d.length;
  if (c.replied) {
    c.replied = false;
    counters.flights++;
    if (c.mode === "cmd") c.classifyPending = true;
    else classify(c, false);
  }
  c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
  parse(c);
  if (!c.flushQueued) {
    c.flushQueued = true;
    setImmediate(() => {
      c.flushQueued = false;
      flush(c);
    });
  }
}

function classify(c, session) {
  if (session) counters.sessionFlights++;
  else if (c.done === 0) counters.firstMessageFlights++;
  else counters.laterMessageFlights++;
}

/** The client is in the middle of something it finishes without waiting for a reply. */
function midWrite(c) {
  return (c.mode === "cmd" && c.buf.length > 0) || c.mode === "bdat" || (c.mode === "data" && c.bodyBytes > 0);
}

function flush(c) {
  if (c.out.length === 0 || midWrite(c) || c.sock.destroyed) return;
  c.sock.write(c.out.join("\r\n") + "\r\n");
  c.out = [];
  c.replied = true;
  if (c.quitting) c.sock.end();
}

function parse(c) {
  for (;;) {
    if (c.mode === "cmd") {
      const lf = c.buf.indexOf(0x0a);
      if (lf < 0) {
        if (c.buf.length > MAX_LINE) {
          c.buf = Buffer.alloc(0);
          c.out.push("500 5.5.2 Error: line too long");
        }
        return;
      }
      const end = lf > 0 && c.buf[lf - 1] === 0x0d ? lf - 1 : lf;
      const line = c.buf.toString("latin1", 0, end);
      c.buf = c.buf.subarray(lf + 1);
      command(c, line);
      if (c.quitting) return;
    } else if (c.mode === "data") {
      if (c.buf.length === 0) return;
      const joined = Buffer.concat([c.dataTail, c.buf]);
      const at = joined.indexOf(END_OF_DATA);
      if (at < 0) {
        c.bodyBytes += c.buf.length;
        c.dataTail = Buffer.from(joined.subarray(Math.max(0, joined.length - 4)));
        c.buf = Buffer.alloc(0);
        return;
      }
      c.buf = c.buf.subarray(at + END_OF_DATA.length - c.dataTail.length);
      c.mode = "cmd";
      c.bodyBytes = 0;
      messageDone(c);
    } else {
      const n = Math.min(c.bdatLeft, c.buf.length);
      c.bdatLeft -= n;
      c.buf = c.buf.subarray(n);
      if (c.bdatLeft > 0) return;
      c.mode = "cmd";
      if (c.bdatError) c.out.push(c.bdatError);
      else if (c.bdatLast) messageDone(c);
      else c.out.push(`250 2.0.0 ${c.bdatSize} octets received`);
    }
  }
}

function messageDone(c) {
  counters.messages++;
  if (c.done === 0) counters.firstMessages++;
  else counters.laterMessages++;
  c.done++;
  c.mail = false;
  c.rcpts = 0;
  c.out.push(`250 2.0.0 Ok: queued as M${counters.messages}`);
}

function command(c, line) {
  counters.commands++;
  const verb = line.split(" ", 1)[0].toUpperCase();
  if (c.classifyPending) {
    c.classifyPending = false;
    classify(c, SESSION_VERBS.has(verb));
  }
  switch (verb) {
    case "EHLO":
      c.mail = false;
      c.rcpts = 0;
      c.out.push("250-counting-sink", "250-PIPELINING", "250-8BITMIME", ...(chunking ? ["250-CHUNKING"] : []), "250 ENHANCEDSTATUSCODES");
      return;
    case "HELO":
      c.mail = false;
      c.rcpts = 0;
      c.out.push("250 counting-sink");
      return;
    case "MAIL":
      if (c.mail) return void c.out.push("503 5.5.1 Error: nested MAIL command");
      if (!/^MAIL FROM:\s*</i.test(line)) return void c.out.push("501 5.5.4 Syntax: MAIL FROM:<address>");
      c.mail = true;
      c.rcpts = 0;
      return void c.out.push("250 2.1.0 Ok");
    case "RCPT":
      if (!c.mail) return void c.out.push("503 5.5.1 Error: need MAIL command");
      if (!/^RCPT TO:\s*</i.test(line)) return void c.out.push("501 5.5.4 Syntax: RCPT TO:<address>");
      c.rcpts++;
      return void c.out.push("250 2.1.5 Ok");
    case "DATA":
      if (!c.mail || c.rcpts === 0) return void c.out.push("554 5.5.1 Error: no valid recipients");
      c.mode = "data";
      c.dataTail = CRLF; // the body starts at the beginning of a line
      c.bodyBytes = 0;
      return void c.out.push("354 End data with <CR><LF>.<CR><LF>");
    case "BDAT": {
      const m = /^BDAT (\d+)( LAST)?\s*$/i.exec(line);
      if (!m) return void c.out.push("501 5.5.4 Syntax: BDAT count [LAST]");
      // The payload is read whatever the verdict, so the session stays in step.
      c.mode = "bdat";
      c.bdatSize = c.bdatLeft = Number(m[1]);
      c.bdatLast = Boolean(m[2]);
      c.bdatError = !chunking
        ? "502 5.5.1 Error: BDAT not offered"
        : !c.mail || c.rcpts === 0
          ? "554 5.5.1 Error: no valid recipients"
          : "";
      if (c.bdatError) {
        c.mail = false;
        c.rcpts = 0;
      }
      return;
    }
    case "RSET":
      c.mail = false;
      c.rcpts = 0;
      return void c.out.push("250 2.0.0 Ok");
    case "NOOP":
      return void c.out.push("250 2.0.0 Ok");
    case "VRFY":
      return void c.out.push("252 2.0.0 Send some mail, I'll try my best");
    case "QUIT":
      c.quitting = true;
      return void c.out.push("221 2.0.0 Bye");
    case "":
      return void c.out.push("500 5.5.2 Error: bad syntax");
    default:
      return void c.out.push("502 5.5.2 Error: command not recognized");
  }
}

function report(reset) {
  const r = { ...counters, open: sockets.size };
  if (reset) counters = zero();
  process.stdout.write(JSON.stringify(r) + "\n");
}

serveUnderControl(server, port, sockets, report);
