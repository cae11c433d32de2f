/**
 * smtpkit capabilities HOST: connects (with TLS as --tls says, without
 * logging in) and shows what the server offers: the EHLO extensions,
 * STARTTLS, the negotiated TLS version and cipher, the certificate, the AUTH
 * mechanisms and the SIZE limit.
 */
import type { Command } from "commander";
import { Smtp, type ServerCapabilities } from "../../index.js";
import { commandIo, type CliContext } from "../context.js";
import { humanBytes, table, toJson } from "../format.js";
import { interruptible } from "../interrupt.js";
import { addConnectionOptions, addOutputOptions, profileFromFlags, type ConnectionFlags, type OutputFlags } from "../options/common.js";
import { applyConnection } from "../options/connection.js";
import { loadProfile } from "../options/load-profile.js";
import { certificateChain, certificateInfo, certificateRows, type CertificateInfo } from "../certificate-info.js";
import { writeLine, type OutStream, type Paint } from "../output.js";
import { explainCertificateError, watchServerCertificate, type SeenCertificate } from "../server-certificate.js";
import { attachTrace } from "../trace.js";

type CapabilitiesFlags = ConnectionFlags & OutputFlags;

interface CapabilitiesReport {
  server: string;
  port: number;
  greeting: string | undefined;
  esmtp: boolean;
  extensions: { keyword: string; params: string[] }[];
  startTls: "offered" | "not offered" | "implicit TLS";
  tls: { version: string; cipher: string } | undefined;
  certificates: CertificateInfo[];
  /** The server certificate was validated (or pinned); null without TLS. */
  certificateTrusted: boolean | null;
  /** smtpkit's verdict on it ("OK", "self-signed certificate (...)", ...). */
  certificateStatus: string | null;
  auth: string[];
  sizeLimit: number | undefined;
}

export function registerCapabilities(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("capabilities")
    .alias("caps")
    .description("show what a server offers: EHLO extensions, STARTTLS, TLS and certificate, AUTH, SIZE")
    .argument("<host>", "the server's host name or address, also HOST:PORT or [IPv6]:PORT");
  addConnectionOptions(cmd, { server: false, login: false });
  addOutputOptions(cmd, { trace: true, json: true });
  cmd.addHelpText("after", "\nExamples:\n  $ smtpkit capabilities smtp.example.com --port 587\n  $ smtpkit capabilities mail.internal --ca internal-ca.pem --json");
  cmd.action(async (host: string, flags: CapabilitiesFlags) => {
    ctx.exitCode = await capabilities(host, flags, ctx);
  });
}

async function capabilities(host: string, flags: CapabilitiesFlags, ctx: CliContext): Promise<number> {
  const io = commandIo(ctx, flags);
  const profile = loadProfile(profileFromFlags(flags), flags, io);
  const smtp = new Smtp();
  await applyConnection(smtp, profile, ctx.env, { host, login: false, needsServer: true });
  if (flags.trace) attachTrace(smtp, ctx.stderr, io.paintErr);

  // The greeting and the EHLO reply before STARTTLS are only seen in the trace.
  let greeting: string | undefined;
  let startTlsOffered = false;
  smtp.on("PITrail", (e) => {
    if (e.direction !== 1) return;
    greeting ??= e.message;
    if (/^250[- ]STARTTLS\s*$/im.test(e.message)) startTlsOffered = true;
  });

  const seen = watchServerCertificate(smtp);
  const report = await interruptible(smtp, async (): Promise<CapabilitiesReport> => {
    try {
      await smtp.connect();
    } catch (e) {
      // A certificate that stopped the handshake is still worth seeing.
      const cert = seen();
      if (cert) printRejectedCertificate(cert, { out: ctx.stdout, paint: io.paintOut, json: flags.json === true, server: smtp.getMailServer(), port: smtp.getMailPort() });
      throw explainCertificateError(e, cert);
    }
    try {
      const caps = smtp.getServerCapabilities();
      const version = smtp.config("SSLNegotiatedVersion");
      const cert = version === "" ? undefined : seen();
      return {
        server: smtp.getMailServer(),
        port: smtp.getMailPort(),
        greeting,
        esmtp: caps?.esmtp ?? false,
        extensions: extensionList(caps),
        startTls: version !== "" && !startTlsOffered ? "implicit TLS" : startTlsOffered || caps?.has("STARTTLS") ? "offered" : "not offered",
        tls: version === "" ? undefined : { version, cipher: smtp.config("SSLNegotiatedCipher") },
        certificates: certificateChain(smtp.getSSLServerCert()).map(certificateInfo),
        certificateTrusted: cert?.trusted ?? null,
        certificateStatus: cert?.status ?? null,
        auth: [...(caps?.authMechanisms ?? [])],
        sizeLimit: caps?.sizeLimit,
      };
    } finally {
      await smtp.disconnect();
    }
  });

  if (flags.json) writeLine(ctx.stdout, toJson(report));
  else for (const line of render(report, io.paintOut)) writeLine(ctx.stdout, line);
  return 0;
}

function extensionList(caps: ServerCapabilities | undefined): { keyword: string; params: string[] }[] {
  return [...(caps?.extensions ?? new Map<string, readonly string[]>())].map(([keyword, params]) => ({ keyword, params: [...params] }));
}

/** Handshake refused: the certificate, and that it is not trusted (the error follows on stderr). */
function printRejectedCertificate(cert: SeenCertificate, o: { out: OutStream; paint: Paint; json: boolean; server: string; port: number }): void {
  const info = certificateChain(cert.certificate).map(certificateInfo);
  if (o.json) {
    writeLine(o.out, toJson({ server: o.server, port: o.port, certificates: info, certificateTrusted: false, certificateStatus: cert.status }));
    return;
  }
  writeLine(o.out, `${o.paint("bold", "Server")}      ${o.server}:${o.port}`);
  info.forEach((c, i) => {
    writeLine(o.out);
    writeLine(o.out, o.paint("bold", i === 0 ? "Server certificate" : `Issuer certificate ${i}`));
    for (const line of certificateRows(c, o.paint)) writeLine(o.out, `  ${line}`);
    if (i === 0) writeLine(o.out, `  ${trustLine(false, cert.status, o.paint)}`);
  });
}

function trustLine(trusted: boolean, status: string, paint: Paint): string {
  return trusted ? `trusted  yes (${status})` : `trusted  ${paint("red", "NO")}: ${status}`;
}

function render(r: CapabilitiesReport, paint: Paint): string[] {
  const lines: string[] = [];
  const heading = (title: string): void => {
    lines.push("", paint("bold", title));
  };
  lines.push(`${paint("bold", "Server")}      ${r.server}:${r.port}`);
  if (r.greeting) lines.push(`Greeting    ${r.greeting.replace(/\r?\n/g, " / ")}`);
  lines.push(`ESMTP       ${r.esmtp ? "yes" : "no (HELO only)"}`);

  heading("EHLO extensions");
  if (r.extensions.length === 0) lines.push("  (none)");
  for (const e of r.extensions) lines.push(`  ${[e.keyword, ...e.params].join(" ")}`);

  heading("TLS");
  const startTls = r.startTls === "offered" ? (r.tls ? paint("green", "offered, in use") : paint("yellow", "offered, not used")) : r.startTls === "implicit TLS" ? "not applicable (implicit TLS)" : paint("yellow", "not offered");
  const tlsRows: string[][] = [["STARTTLS", startTls]];
  tlsRows.push(r.tls ? ["version", r.tls.version] : ["version", paint("yellow", "no TLS: the session is in clear text")]);
  if (r.tls) tlsRows.push(["cipher", r.tls.cipher]);
  for (const line of table(tlsRows)) lines.push(`  ${line}`);

  r.certificates.forEach((c, i) => {
    heading(i === 0 ? "Server certificate" : `Issuer certificate ${i}`);
    for (const line of certificateRows(c, paint)) lines.push(`  ${line}`);
    if (i === 0 && r.certificateTrusted !== null && r.certificateStatus !== null) lines.push(`  ${trustLine(r.certificateTrusted, r.certificateStatus, paint)}`);
  });

  heading("AUTH");
  lines.push(`  ${r.auth.length > 0 ? r.auth.join(" ") : "(not offered)"}`);
  heading("SIZE");
  lines.push(`  ${r.sizeLimit === undefined ? "(not announced)" : r.sizeLimit === 0 ? "no fixed limit (SIZE 0)" : `${r.sizeLimit} bytes (${humanBytes(r.sizeLimit)})`}`);
  return lines;
}
