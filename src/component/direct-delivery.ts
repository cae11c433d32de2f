/**
 * DirectDelivery: no relay; each recipient domain's own mail servers take
 * the message (SocketTools: "delivered directly to the recipient"). One
 * transaction per domain, MX hosts tried in preference order; the result says
 * which host took which recipient.
 */
import type { RecipientResult, SendResult, TransactionHooks } from "../engine/transaction.js";
import { runTransaction } from "../engine/transaction.js";
import type { SmtpSession } from "../engine/session.js";
import { ErrorCode, SmtpError } from "../errors.js";
import type { PropertyStore } from "../schema/property-store.js";
import { parseDnsServers, resolveMailHosts } from "../transport/mx-resolver.js";
import type { ComposedMessage } from "./compose.js";
import { messageForServer, planTransaction } from "./transaction-plan.js";

export interface DirectDeliveryContext {
  /** Opens a session to `address` (an IP) for the mail host `hostName`. */
  open(address: string, hostName: string, signal: AbortSignal): Promise<SmtpSession>;
  hooks: TransactionHooks;
  /** DKIM-signs a message converted for a mail host (7-bit for one without 8BITMIME). */
  sign(message: ComposedMessage): Promise<ComposedMessage>;
  /** A domain that could not be delivered (Error event). */
  failed(err: SmtpError): void;
  trail(message: string): void;
}

/** The recipient result, plus the mail host that answered for it. */
export type DirectRecipientResult = RecipientResult & { host?: string };

export async function deliverDirect(store: PropertyStore, composed: ComposedMessage, ctx: DirectDeliveryContext, signal: AbortSignal): Promise<SendResult> {
  const groups = new Map<string, typeof composed.envelope.recipients[number][]>();
  for (const r of composed.envelope.recipients) {
    const domain = r.address.slice(r.address.lastIndexOf("@") + 1).toLowerCase();
    if (!domain || !r.address.includes("@")) throw new SmtpError(ErrorCode.InvalidAddress, `direct delivery needs a domain in every address; got ${r.address}`);
    const list = groups.get(domain) ?? [];
    list.push(r);
    groups.set(domain, list);
  }
  if (groups.size > 1 && !composed.parts.every((p) => Buffer.isBuffer(p))) {
    throw new SmtpError(ErrorCode.InvalidValue, "direct delivery to several domains sends the message once per domain: give the body as MessageText or Message, not as a stream");
  }
  const results: DirectRecipientResult[] = [];
  const failures: SmtpError[] = [];
  let last: SendResult | undefined;
  for (const [domain, recipients] of groups) {
    try {
      const { result, host } = await deliverDomain(store, { ...composed, envelope: { ...composed.envelope, recipients } }, domain, ctx, signal);
      results.push(...result.recipients.map((r) => ({ ...r, host })));
      last = result;
    } catch (e) {
      const err = SmtpError.from(e);
      if (signal.aborted) throw err;
      failures.push(err);
      ctx.failed(err.derive(`direct delivery to ${domain} failed: ${err.reason}`));
      for (const r of recipients) {
        if (err.recipientResults?.some((x) => x.address === r.address)) continue; // reported by the transaction
        const result: DirectRecipientResult = {
          address: r.address,
          type: r.type,
          accepted: false,
          transient: err.isTransient(),
          replyCode: err.replyCode ?? 0,
          enhancedStatus: err.enhancedStatus,
          reply: err.lastReply ?? err.message,
        };
        results.push(result);
        ctx.hooks.recipientResult(result);
      }
      const reported = err.recipientResults?.filter((x) => recipients.some((r) => r.address === x.address)) ?? [];
      for (const x of reported) results.push({ ...x, type: recipients.find((r) => r.address === x.address)?.type ?? 0 });
    }
  }
  if (!last) {
    const first = failures[0] as SmtpError;
    if (groups.size === 1) throw first;
    throw new SmtpError(first.code, `direct delivery failed for every domain: ${failures.map((f) => f.message).join("; ")}`, {
      replyCode: first.replyCode,
      enhancedStatus: first.enhancedStatus,
      lastReply: first.lastReply,
    });
  }
  return {
    accepted: results.filter((r) => r.accepted).map((r) => r.address),
    rejected: results.filter((r) => !r.accepted),
    recipients: results,
    replyCode: last.replyCode,
    enhancedStatus: last.enhancedStatus,
    reply: last.reply,
    messageBytes: last.messageBytes,
  };
}

async function deliverDomain(store: PropertyStore, composed: ComposedMessage, domain: string, ctx: DirectDeliveryContext, signal: AbortSignal): Promise<{ result: SendResult; host: string }> {
  const hosts = await resolveMailHosts(domain, {
    servers: parseDnsServers(String(store.setting("DNSServers"))),
    useIPv6: store.int("UseIPv6"),
    timeoutMs: store.number("Timeout") * 1000,
  });
  let lastError: SmtpError | undefined;
  for (const host of hosts) {
    for (const address of host.addresses) {
      let session: SmtpSession;
      try {
        ctx.trail(`direct delivery to ${domain}: trying ${host.name} (preference ${host.preference}) at ${address}`);
        session = await ctx.open(address, host.name, signal);
      } catch (e) {
        if (signal.aborted || !(e instanceof SmtpError)) throw e;
        // RFC 5321 §5.1: a host that cannot be reached or greets with 4xx: try the next one.
        if (!e.isTransient() && e.replyCode === undefined) throw e;
        lastError = e;
        continue;
      }
      try {
        // As this host takes it: 7-bit (signed again) when it lacks 8BITMIME.
        const ready = await messageForServer(store, session, composed, ctx.sign);
        const { envelope, plan, notes } = planTransaction(store, session, ready, "MAIL");
        for (const n of notes) ctx.trail(n);
        // Every recipient result (events, getRecipientResults) names the host that answered.
        const hooks: TransactionHooks = { ...ctx.hooks, recipientResult: (r) => ctx.hooks.recipientResult({ ...r, host: host.name }) };
        const result = await runTransaction(session, envelope, { parts: ready.parts }, plan, hooks, signal);
        return { result, host: host.name };
      } finally {
        await session.quit();
      }
    }
  }
  throw lastError ?? new SmtpError(ErrorCode.HostNotFound, `no mail host of ${domain} could be reached`);
}
