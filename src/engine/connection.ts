/**
 * One SMTP connection: the socket, the incremental reply parser and the FIFO
 * of reply waiters. Every command written pushes the waiter for its reply, so
 * several commands can be in flight at once (pipelining) and replies are
 * matched strictly in order.
 */
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ErrorCode, SmtpError } from "../errors.js";
import { assertNoLineBreak } from "../message/header-block.js";
import { socketError } from "../transport/socket-errors.js";
import { describeReply, type SmtpReply } from "./reply.js";
import { plausible, type Expected } from "./reply-expectations.js";
import { ReplyParser } from "./reply-parser.js";

export interface ConnectionHooks {
  /** A protocol trace line: 0 sent, 1 received, 2 info. */
  trail(direction: 0 | 1 | 2, message: string): void;
  /** Every reply, in order (LastReply). */
  reply(reply: SmtpReply): void;
  /** The socket closed: `reason` is the failure, or the loss of the connection while replies were awaited; undefined for an orderly close. */
  closed(reason: SmtpError | undefined): void;
}

export interface ConnectionOptions {
  maxLineLength: number;
  maxReplyLength?: number;
  maxReplyLines?: number;
  /** Longest total wait for one reply, bytes trickling in or not; 0 / absent: four times its Timeout. */
  maxReplyMs?: number;
  hooks: ConnectionHooks;
  /** Graceful close (FIN, waiting up to lingerMs for the server's side) or a reset at once. */
  linger?: boolean;
  lingerMs?: number;
  /** The TCP socket under any TLS layer: a reset (Linger=false) is sent on it. */
  tcp?: Duplex;
}

interface Waiter {
  /** What the reply answers, for error messages ("RCPT TO:<a@b>", "greeting"). */
  label: string;
  timeoutMs: number;
  /** False while the command it answers is still being written (message data). */
  armed: boolean;
  expect: Expected;
  lastInClear?: boolean;
  resolve(reply: SmtpReply): void;
  reject(err: SmtpError): void;
}

export interface CommandOptions {
  /** Shown in PITrail and errors instead of the command (credentials). */
  display?: string;
  timeoutMs: number;
  /** The replies that can answer it; anything else means the two sides are out of step. Default "any". */
  expect?: Expected;
  /**
   * Stop reading after this command's reply and drop anything received
   * after it (STARTTLS: bytes before the handshake may be injected).
   */
  lastInClear?: boolean;
}

export interface PipelinedCommand extends CommandOptions {
  line: string;
  /** Raw bytes written right after the line (BDAT chunk data). */
  payload?: Buffer;
}

/**
 * What the connection needs of a command to write it and pair its reply: an
 * SmtpCommand (smtp-commands.ts) as it is, or a PipelinedCommand.
 */
export interface OutgoingCommand {
  readonly line: string;
  readonly display?: string | undefined;
  readonly expect?: Expected | undefined;
  readonly payload?: Buffer | undefined;
  readonly lastInClear?: boolean | undefined;
  /** Its own reply Timeout, instead of the one given to send(). */
  readonly timeoutMs?: number | undefined;
}

export class SmtpConnection {
  private readonly parser: ReplyParser;
  private readonly waiters: Waiter[] = [];
  private failure: SmtpError | undefined;
  private lastReply: SmtpReply | undefined;
  /** The server said 421 (to a command or to none): it is closing the channel, nothing more may be sent (RFC 5321 §3.8). */
  private closing: SmtpReply | undefined;
  /** Replies and commands fell out of step (stray, extra, implausible or malformed replies). */
  private violation: SmtpError | undefined;
  /** The server went away while replies were awaited: what they failed with, for the closed hook. */
  private lost: SmtpError | undefined;
  /** Replies matched to their commands so far. */
  private matched = 0;
  private checkpoints: { at: number; resolve(): void; reject(err: SmtpError): void }[] = [];
  private ended = false;
  private sock: Duplex;
  private receivedAny = false;
  /** Resolves when the writes held by coalesce() have gone out; undefined when none are held. */
  private corked: Promise<void> | undefined;
  private replyTimer: NodeJS.Timeout | undefined;
  private replyTimerMs = 0;
  /** The waiter the reply timer is timing (the head of the queue), if any. */
  private timed: Waiter | undefined;
  /** When the timed wait began (performance.now()). */
  private timedSince = 0;
  private readonly listeners = {
    data: (chunk: Buffer): void => this.onData(chunk),
    error: (err: Error): void => this.fail(socketError(err, "connection error")),
    end: (): void => this.onEnd(),
    close: (): void => this.onClose(),
  };

  constructor(socket: Duplex, private readonly opts: ConnectionOptions) {
    this.parser = new ReplyParser({ maxLineLength: opts.maxLineLength, maxReplyLength: opts.maxReplyLength, maxReplyLines: opts.maxReplyLines });
    this.sock = socket;
    this.bind(socket);
  }

  get socket(): Duplex {
    return this.sock;
  }

  /**
   * Continues on a TLS socket that wraps the current one (after STARTTLS).
   * Whatever the server sent in clear text after its STARTTLS reply was
   * already thrown away (see `upgradeAfter`).
   */
  upgrade(tls: Duplex): void {
    this.unbind(this.sock);
    this.sock = tls;
    this.bind(tls);
  }

  get isOpen(): boolean {
    return !this.ended && this.failure === undefined && !this.sock.destroyed;
  }

  /**
   * Set once replies and commands fell out of step: no reply read on this
   * connection since can be trusted as the answer to its command.
   */
  get outOfStep(): SmtpError | undefined {
    return this.violation;
  }

  get pendingReplies(): number {
    return this.waiters.length;
  }

  /** The error that broke this connection, if one did. */
  get failedWith(): SmtpError | undefined {
    return this.failure;
  }

  get lastReceived(): SmtpReply | undefined {
    return this.lastReply;
  }

  /** Waits for a reply without sending anything (the greeting). */
  expectReply(label: string, timeoutMs: number, expect: Expected = "greeting"): Promise<SmtpReply> {
    return this.pushWaiter(label, timeoutMs, expect);
  }

  /**
   * Queues the waiter for a reply whose command is still being written (the
   * end of data), so an instant reply can never arrive "unsolicited". Its
   * timer starts only at arm().
   */
  deferReply(label: string, timeoutMs: number, expect: Expected = "verdict"): { reply: Promise<SmtpReply>; arm(): void } {
    let waiter: Waiter | undefined;
    const reply = this.failure || !this.isOpen
      ? Promise.reject(this.failure ?? this.closedError(label))
      : new Promise<SmtpReply>((resolve, reject) => {
          waiter = { label, timeoutMs, armed: false, expect, resolve, reject };
          this.waiters.push(waiter);
        });
    // Settled later by the caller; a failure before that must not be "unhandled".
    reply.catch(() => undefined);
    return {
      reply,
      arm: () => {
        if (!waiter) return;
        waiter.armed = true;
        if (this.waiters[0] === waiter) this.armTimer(waiter);
      },
    };
  }

  /**
   * A command that rides in the same write as the end of the message (the
   * caller writes the returned bytes right after the marker): its waiter is
   * queued now, behind the end-of-data one, and armed with it.
   */
  deferCommand(command: OutgoingCommand, timeoutMs: number): { reply: Promise<SmtpReply>; arm(): void; bytes: Buffer } {
    const line = command.line;
    assertNoLineBreak("an SMTP command", line);
    const label = command.display ?? line;
    const deferred = this.deferReply(label, timeoutMs, command.expect ?? "any");
    let armed = false;
    return {
      reply: deferred.reply,
      arm: () => {
        if (armed) return;
        armed = true;
        this.opts.hooks.trail(0, label);
        deferred.arm();
      },
      bytes: Buffer.from(`${line}\r\n`, "latin1"),
    };
  }

  /**
   * Resolves once the replies now awaited have arrived in step up to the next
   * one that only its own command can get (354 to DATA), or up to the last
   * one awaited: a reply swallowed or added earlier (a dangling "250-" line
   * merging two replies, a stray one) has shown up by then as a reply that
   * cannot answer its command, and the promise rejects with that violation.
   * A close, 421 or timeout before then rejects too: the shift can no longer
   * be ruled out.
   */
  checkpoint(): Promise<void> {
    if (this.violation) return Promise.reject(this.violation);
    const distinct = this.waiters.findIndex((w) => w.expect === "data");
    const ahead = distinct >= 0 ? distinct + 1 : this.waiters.length;
    if (ahead === 0) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.checkpoints.push({ at: this.matched + ahead, resolve, reject });
    });
  }

  /** Writes one command line and waits for its reply. */
  command(line: string, opts: CommandOptions): Promise<SmtpReply> {
    return this.pipeline([{ line, ...opts }])[0] as Promise<SmtpReply>;
  }

  /** As send(), each command with its own reply Timeout. */
  pipeline(commands: readonly PipelinedCommand[]): Promise<SmtpReply>[] {
    return this.send(commands, 0);
  }

  /**
   * Writes several commands in ONE write, each reply timed with its own
   * `timeoutMs` or else this one, and returns one promise per reply, in
   * order. Every promise settles (none is left hanging) whatever happens.
   */
  send(commands: readonly OutgoingCommand[], timeoutMs: number): Promise<SmtpReply>[] {
    const promises: Promise<SmtpReply>[] = [];
    if (this.failure || !this.isOpen) {
      const err = this.failure ?? this.closedError(commands[0]?.display ?? commands[0]?.line ?? "command");
      for (let i = 0; i < commands.length; i++) promises.push(Promise.reject(err));
    } else {
      // The whole group is checked before any waiter is queued: a bad line
      // later in it must not leave waiters for commands never written.
      for (const c of commands) assertNoLineBreak("an SMTP command", c.line);
      const pieces: Buffer[] = [];
      let text = "";
      for (const c of commands) {
        this.opts.hooks.trail(0, c.display ?? c.line);
        text += c.line + "\r\n";
        if (c.payload) {
          pieces.push(Buffer.from(text, "utf8"), c.payload);
          text = "";
        }
        promises.push(this.pushWaiter(c.display ?? c.line, c.timeoutMs ?? timeoutMs, c.expect ?? "any", c.lastInClear));
      }
      if (pieces.length === 0) this.sock.write(text);
      else {
        if (text) pieces.push(Buffer.from(text, "utf8"));
        this.sock.write(Buffer.concat(pieces));
      }
    }
    // Callers await these one by one; a failure must not count as unhandled meanwhile.
    for (const p of promises) p.catch(() => undefined);
    return promises;
  }

  /**
   * Writes raw bytes (message data) and resolves once the socket can take
   * more, so a large body never piles up in memory.
   */
  write(data: Buffer, timeoutMs: number, label: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.isOpen) return Promise.reject(this.closedError(label));
    if (this.sock.write(data)) return Promise.resolve();
    return this.drained(timeoutMs, label);
  }

  /**
   * Holds the writes of the current burst of callbacks and sends them together
   * once it is over (one packet, one system call): the end of one message and
   * the next message's envelope (RFC 2920 lets message content start a group).
   */
  coalesce(): void {
    if (this.corked || !this.isOpen) return;
    this.sock.cork();
    this.corked = new Promise<void>((resolve) => {
      process.nextTick(() => {
        this.corked = undefined;
        this.sock.uncork();
        resolve();
      });
    });
  }

  /** Resolves once the writes held by coalesce() in this burst have been handed to the socket (at once when none are held). */
  flushed(): Promise<void> {
    return this.corked ?? Promise.resolve();
  }

  /** Resolves once the socket's write buffer has drained (backpressure for pipelined data). */
  drained(timeoutMs: number, label: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.sock.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: SmtpError): void => {
        if (timer) clearTimeout(timer);
        this.sock.off("drain", onDrain);
        this.sock.off("close", onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(this.failure ?? this.closedError(label));
      this.sock.on("drain", onDrain);
      this.sock.on("close", onClose);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          const err = new SmtpError(ErrorCode.TimedOut, `timed out after ${timeoutMs / 1000} s: the server stopped reading during ${label}`);
          this.abort(err);
          done(err);
        }, timeoutMs);
      }
    });
  }

  /** Fails everything in flight with `err` and destroys the socket. */
  abort(err: SmtpError): void {
    this.fail(err);
  }

  /** Ends the connection politely (after QUIT); resolves once the socket has closed. */
  end(): Promise<void> {
    this.ended = true;
    if (this.sock.closed) return Promise.resolve();
    if (this.opts.linger === false) {
      const tcp = this.opts.tcp ?? this.sock;
      try {
        // RST instead of FIN; only a plain TCP handle can do it.
        if (tcp instanceof Socket) tcp.resetAndDestroy();
        else tcp.destroy();
      } catch {
        tcp.destroy();
      }
      this.sock.destroy();
      return Promise.resolve();
    }
    return this.closeGracefully();
  }

  /** FIN, then waits up to lingerMs for the server's side; resolves once the socket has closed. */
  private closeGracefully(): Promise<void> {
    return new Promise<void>((resolve) => {
      // A server that never closes its side must not keep the caller (or the process) waiting.
      const t = setTimeout(() => this.sock.destroy(), this.opts.lingerMs ?? 2000);
      t.unref();
      this.sock.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      this.sock.end();
    });
  }

  destroy(): void {
    this.ended = true;
    this.sock.destroy();
  }

  private bind(socket: Duplex): void {
    socket.on("data", this.listeners.data);
    socket.on("error", this.listeners.error);
    socket.on("end", this.listeners.end);
    socket.on("close", this.listeners.close);
    // A proxy handshake may leave the socket paused with the greeting already buffered.
    socket.resume();
  }

  private unbind(socket: Duplex): void {
    socket.off("data", this.listeners.data);
    socket.off("error", this.listeners.error);
    socket.off("end", this.listeners.end);
    socket.off("close", this.listeners.close);
  }

  private pushWaiter(label: string, timeoutMs: number, expect: Expected, lastInClear = false): Promise<SmtpReply> {
    return new Promise<SmtpReply>((resolve, reject) => {
      const waiter: Waiter = { label, timeoutMs, armed: true, expect, lastInClear, resolve, reject };
      this.waiters.push(waiter);
      // Only the head of the queue is timed: the others cannot be answered before it.
      if (this.waiters.length === 1) this.armTimer(waiter);
    });
  }

  /**
   * Times the waiter at the head of the queue. One timer serves the whole
   * connection and is restarted, not recreated, for each reply (a message
   * has five or more); once its waiter is answered it is left to run out.
   */
  private armTimer(w: Waiter): void {
    if (w.timeoutMs <= 0 || !w.armed || this.timed === w) return;
    this.timed = w;
    this.timedSince = performance.now();
    if (this.replyTimer && this.replyTimerMs === w.timeoutMs) {
      this.replyTimer.refresh();
      return;
    }
    if (this.replyTimer) clearTimeout(this.replyTimer);
    this.replyTimerMs = w.timeoutMs;
    this.replyTimer = setTimeout(() => this.onReplyTimeout(), w.timeoutMs);
  }

  private onReplyTimeout(): void {
    const w = this.timed;
    // Stale: the reply it was timing arrived (nothing is timed, or another waiter is).
    if (!w || this.waiters[0] !== w) return;
    const waited = performance.now() - this.timedSince;
    if (waited > w.timeoutMs * 1.5) {
      // Bytes kept coming, but the reply never completed.
      this.fail(new SmtpError(ErrorCode.TimedOut, `the reply to ${w.label} did not complete within ${Math.round(waited / 1000)} s although bytes kept arriving`, {
        command: w.label,
        hint: "the server trickles its reply; raise MaxReplyTime if it is just slow",
      }));
      return;
    }
    this.fail(new SmtpError(ErrorCode.TimedOut, `timed out after ${w.timeoutMs / 1000} s waiting for the reply to ${w.label}`, {
      command: w.label,
      hint: "the server accepted the connection but did not answer; raise Timeout if it is just slow; see docs/troubleshooting.md#timeouts",
    }));
  }

  private stopTimer(): void {
    this.timed = undefined;
    if (this.replyTimer) clearTimeout(this.replyTimer);
    this.replyTimer = undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    // Timeout is about inactivity: bytes from the server restart the wait, but
    // a reply that trickles in forever must still end: no restart may carry
    // the wait past MaxReplyTime.
    const t = this.timed;
    if (t && performance.now() - this.timedSince + t.timeoutMs <= (this.opts.maxReplyMs || 4 * t.timeoutMs)) this.replyTimer?.refresh();
    if (!this.receivedAny) {
      this.receivedAny = true;
      // A TLS record (handshake 0x16 / alert 0x15, version 3.x) where a greeting belongs.
      if ((chunk[0] === 0x16 || chunk[0] === 0x15) && chunk[1] === 0x03) {
        this.fail(new SmtpError(ErrorCode.TlsWrongMode, "the server sent TLS data instead of an SMTP greeting: this port speaks implicit TLS", {
          hint: "use SSLStartMode=1 on this port (usually 465), or port 587 with STARTTLS; see docs/troubleshooting.md#wrong-tls-mode",
        }));
        return;
      }
    }
    let replies: SmtpReply[];
    try {
      replies = this.parser.push(chunk);
    } catch (e) {
      this.violate(SmtpError.from(e, ErrorCode.MalformedReply));
      return;
    }
    // More replies than commands in flight: the two sides are out of step, and
    // matching any of them to a command could report a refusal as success.
    const clearLimit = this.waiters.findIndex((w) => w.lastInClear);
    const answerable = clearLimit >= 0 ? clearLimit + 1 : this.waiters.length;
    if (replies.length > answerable && clearLimit < 0 && replies.slice(answerable).some((r) => r.code !== 421)) {
      for (const r of replies) this.opts.hooks.trail(1, r.raw);
      this.violate(outOfStep("the server sent more replies than commands were sent (out of step)", replies[answerable] as SmtpReply));
      return;
    }
    for (let i = 0; i < replies.length; i++) {
      const reply = replies[i] as SmtpReply;
      this.lastReply = reply;
      this.opts.hooks.trail(1, reply.raw);
      this.opts.hooks.reply(reply);
      const head = this.waiters[0];
      if (!head) {
        this.onUnsolicited(reply);
        if (this.failure || this.closing) return;
        continue;
      }
      if (!head.armed) {
        // Its command (the message data) is still being written: this reply cannot be its answer.
        this.violate(outOfStep("the server replied before the end of the message was sent", reply));
        return;
      }
      if (!plausible(head.expect, reply.code, reply.enhancedStatus)) {
        this.violate(outOfStep(`the server's reply cannot answer ${head.label} (out of step)`, reply));
        return;
      }
      this.waiters.shift();
      this.matched++;
      if (this.timed === head) this.timed = undefined;
      this.passCheckpoints();
      if (head.lastInClear && reply.code === 220) {
        this.stopReadingInClear(replies.length - i - 1);
        head.resolve(reply);
        return;
      }
      if (reply.code === 421) {
        head.resolve(reply);
        this.serverClosing(reply);
        return;
      }
      const next = this.waiters[0];
      if (next) this.armTimer(next);
      head.resolve(reply);
    }
  }

  /** After a 220 to STARTTLS: nothing more is read in clear text (RFC 3207 §6). */
  private stopReadingInClear(repliesDropped: number): void {
    this.sock.off("data", this.listeners.data);
    const partial = this.parser.partial;
    this.parser.reset();
    if (repliesDropped > 0 || partial) {
      this.opts.hooks.trail(2, "discarded data the server sent after its STARTTLS reply, before the TLS handshake");
    }
  }

  private onUnsolicited(reply: SmtpReply): void {
    // 421 is how a server announces it is closing; anything else means the
    // two sides disagree about which reply answers which command.
    if (reply.code === 421) {
      this.serverClosing(reply);
      return;
    }
    this.violate(outOfStep("the server sent a reply to no command (out of step)", reply));
  }

  /**
   * After a 421 the server closes the channel (RFC 5321 §3.8): nothing more is
   * written, the commands still waiting cannot be answered, and the session
   * is over for its owner (isOpen false), who opens a new one.
   */
  private serverClosing(reply: SmtpReply): void {
    this.closing = reply;
    this.opts.hooks.trail(2, "the server announced it is closing the connection");
    this.rejectAll(this.closedError(this.waiters[0]?.label));
    this.ended = true;
    // Commands still in the write buffer must not follow a 421: drop them with the connection.
    if (this.sock.writableLength > 0) {
      this.sock.destroy();
      return;
    }
    void this.closeGracefully();
  }

  /** The server ended its side: no reply can come any more. */
  private onEnd(): void {
    if (this.failure) return;
    this.ended = true;
    if (this.waiters.length > 0) {
      this.lost = this.closedError(this.waiters[0]?.label);
      this.rejectAll(this.lost);
    }
  }

  private onClose(): void {
    const err = this.failure ?? this.closedError(this.waiters[0]?.label);
    // Closed under replies still awaited, and not from this side: the connection was lost.
    if (!this.ended && this.waiters.length > 0) this.lost ??= err;
    this.ended = true;
    this.rejectAll(err);
    this.opts.hooks.closed(this.failure ?? this.lost);
  }

  /** A protocol violation: nothing read on this connection can be trusted any more. */
  private violate(err: SmtpError): void {
    this.violation ??= err;
    this.fail(err);
  }

  private fail(err: SmtpError): void {
    if (this.failure) return;
    this.failure = err;
    this.rejectAll(err);
    this.sock.destroy();
  }

  private rejectAll(err: SmtpError): void {
    this.stopTimer();
    for (const w of this.waiters.splice(0)) w.reject(err);
    // Nothing more will be read: a shift that was about to show can no longer be ruled out.
    for (const c of this.checkpoints.splice(0)) c.reject(this.violation ?? err);
  }

  private passCheckpoints(): void {
    if (this.checkpoints.length === 0) return;
    const due = this.checkpoints.filter((c) => c.at <= this.matched);
    if (due.length === 0) return;
    this.checkpoints = this.checkpoints.filter((c) => c.at > this.matched);
    for (const c of due) c.resolve();
  }

  private closedError(label: string | undefined): SmtpError {
    const last = this.closing ?? this.lastReply;
    const lastText = last ? `; its last reply was "${describeReply(last)}"` : "";
    const what = label ? ` while waiting for the reply to ${label}` : "";
    return new SmtpError(ErrorCode.ConnectionClosed, `the server closed the connection${what}${lastText}`, {
      replyCode: this.closing?.code,
      enhancedStatus: this.closing?.enhancedStatus,
      lastReply: last?.raw,
      command: label,
    });
  }
}

function outOfStep(what: string, reply: SmtpReply): SmtpError {
  return new SmtpError(ErrorCode.MalformedReply, `${what}: ${describeReply(reply)}`, {
    replyCode: reply.code,
    enhancedStatus: reply.enhancedStatus,
    lastReply: reply.raw,
    hint: "the connection was closed: replies can no longer be matched to commands",
  });
}
