/**
 * A server certificate as the CLI shows it: subject, issuer, validity, names,
 * SHA-256 fingerprint; and what it takes to pin it (SSLAcceptServerCert).
 */
import type { X509Certificate } from "node:crypto";
import { distinguishedName } from "../transport/distinguished-name.js";
import { table } from "./format.js";
import type { Paint } from "./output.js";

export interface CertificateInfo {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  daysLeft: number;
  subjectAltName: string | undefined;
  fingerprint256: string;
  serialNumber: string;
}

/** The certificate and its issuers, as far as they are known. */
export function certificateChain(cert: X509Certificate | undefined): X509Certificate[] {
  const list: X509Certificate[] = [];
  const seen = new Set<string>();
  for (let c = cert; c && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    list.push(c);
  }
  return list;
}

export function certificateInfo(c: X509Certificate): CertificateInfo {
  return {
    subject: distinguishedName(c.subject),
    issuer: distinguishedName(c.issuer),
    validFrom: new Date(c.validFrom).toISOString(),
    validTo: new Date(c.validTo).toISOString(),
    daysLeft: Math.floor((new Date(c.validTo).getTime() - Date.now()) / 86_400_000),
    subjectAltName: c.subjectAltName,
    fingerprint256: c.fingerprint256,
    serialNumber: c.serialNumber,
  };
}

/** "C=DE\nCN=mail" -> "C=DE, CN=mail". */
/** The rows subject / issuer / valid / names / sha256, aligned. */
export function certificateRows(c: CertificateInfo, paint: Paint): string[] {
  const validity = c.daysLeft < 0 ? paint("red", `expired ${-c.daysLeft} days ago`) : c.daysLeft < 30 ? paint("yellow", `${c.daysLeft} days left`) : `${c.daysLeft} days left`;
  return table([
    ["subject", c.subject],
    ["issuer", c.issuer],
    ["valid", `${c.validFrom} .. ${c.validTo} (${validity})`],
    ["names", c.subjectAltName ?? "(no subjectAltName)"],
    ["sha256", c.fingerprint256],
  ]);
}

/** The option that trusts this certificate, and only it. */
export function pinOption(fingerprint256: string): string {
  return `--pin-cert ${fingerprint256}`;
}
