/**
 * SSLAcceptServerCert: a certificate (PEM or base64 DER) or its SHA-256
 * fingerprint that is trusted as is.
 */
import { X509Certificate } from "node:crypto";
import { ErrorCode, SmtpError } from "../errors.js";

export type CertificatePin =
  | { kind: "certificate"; raw: Buffer }
  | { kind: "fingerprint"; sha256: string };

/** Parses the property value; "" means no pin. */
export function parsePin(value: string): CertificatePin | undefined {
  const v = value.trim();
  if (v === "") return undefined;
  const hex = v.replace(/^sha-?256[:=]\s*/i, "").replace(/[:\s]/g, "");
  if (/^[0-9a-f]{64}$/i.test(hex)) return { kind: "fingerprint", sha256: hex.toUpperCase() };
  try {
    const pem = v.includes("-----BEGIN") ? v : `-----BEGIN CERTIFICATE-----\n${v.replace(/\s+/g, "")}\n-----END CERTIFICATE-----\n`;
    return { kind: "certificate", raw: Buffer.from(new X509Certificate(pem).raw) };
  } catch (e) {
    throw new SmtpError(ErrorCode.InvalidValue, "SSLAcceptServerCert must be a PEM certificate, base64 DER, or a SHA-256 fingerprint (64 hex digits)", { cause: e });
  }
}

export function matchesPin(pin: CertificatePin, peer: X509Certificate): boolean {
  if (pin.kind === "certificate") return Buffer.from(peer.raw).equals(pin.raw);
  return peer.fingerprint256.replace(/:/g, "").toUpperCase() === pin.sha256;
}
