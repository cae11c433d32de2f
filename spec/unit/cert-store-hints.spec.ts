/** A store type that cannot exist on Node fails when the client certificate is loaded (278), naming the store and the export to make. */
import { describe, expect, it } from "vitest";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import { loadClientCertificate } from "../../src/transport/client-certificate.js";

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
