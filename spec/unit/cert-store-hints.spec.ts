/**
 * A store type that cannot exist on Node fails when the client certificate is loaded (278), or the
 * S/MIME signer (601), naming the store and the export to make with the property that chose it.
 */
import { describe, expect, it } from "vitest";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import { loadClientCertificate } from "../../src/transport/client-certificate.js";
import { Certificate } from "../../src/smime/certificate.js";

function failure(storeType: number): SmtpError {
  try {
    loadClientCertificate({ storeType, store: "MY", password: "", subject: "*" });
  } catch (e) {
    if (e instanceof SmtpError) return e;
    throw e;
  }
  throw new Error(`store type ${storeType} loaded`);
}

describe("unsupported SSLCertStoreType values at connect", () => {
  it.each([
    [0, /cstUser/, /Export-PfxCertificate.*SSLCertStoreType 2/],
    [4, /cstJKSFile/, /keytool -importkeystore -srcstoretype JKS -deststoretype PKCS12/],
    [20, /cstSecurityKey/, /PKCS#12 .*or PEM/],
    [14, /cstPPKFile/, /certificate and its private key together/],
  ])("type %i: 278 naming %s, with the export to make", (type, name, hint) => {
    const err = failure(type);
    expect(err.code).toBe(ErrorCode.TlsClientCert);
    expect(err.reason).toMatch(name);
    expect(err.reason).toContain("is not available on Node.js");
    expect(err.hint).toMatch(hint);
  });
});

describe("unsupported CertStoreType values for an S/MIME signer", () => {
  it.each([
    [1, /cstMachine/, /Export-PfxCertificate.*CertStoreType 2/],
    [4, /cstJKSFile/, /keytool .*CertStoreType 2/],
    [14, /cstPPKFile/, /private key together as PKCS#12 \(CertStoreType 2 or 3\)/],
  ])("new Certificate(%i, ...): 601 naming %s, with the export to make", (type, name, hint) => {
    let caught: unknown;
    try {
      new Certificate(type, "MY", "", "*");
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SmtpError);
    const err = caught as SmtpError;
    expect(err.code).toBe(ErrorCode.InvalidValue);
    expect(err.reason).toMatch(name);
    expect(err.reason).toContain("is not available for S/MIME on Node.js");
    expect(err.hint).toMatch(hint);
    expect(err.hint).not.toContain("SSLCertStoreType");
  });
});
