/** The S/MIME options as IP*Works SSMTP has them: properties with get / set / camelCase, its value spellings, the config names as aliases. */
import { describe, expect, it } from "vitest";
import { ErrorCode, Smtp, SmtpError } from "../../src/index.js";

describe("SigningAlgorithm, EncryptingAlgorithm, IncludeCertificate, IncludeChain as properties", () => {
  it("take IP*Works' spellings case-insensitively and store the canonical name, through every accessor form", () => {
    const m = new Smtp();
    expect(m.getSigningAlgorithm()).toBe("sha256");
    m.setSigningAlgorithm("SHA384");
    expect(m.signingAlgorithm).toBe("sha384");
    m.signingAlgorithm = "sha-512";
    expect(m.config("SigningAlgorithm")).toBe("sha512");
    m.config("SigningAlgorithm=Sha256");
    expect(m.getSigningAlgorithm()).toBe("sha256");

    expect(m.getEncryptingAlgorithm()).toBe("aes256-cbc");
    m.setEncryptingAlgorithm("3DES");
    expect(m.encryptingAlgorithm).toBe("des-ede3-cbc");
    m.config("EncryptingAlgorithm=AES128");
    expect(m.getEncryptingAlgorithm()).toBe("aes128-cbc");
    expect(new Smtp({ encryptingAlgorithm: "aes192" }).getEncryptingAlgorithm()).toBe("aes192-cbc");
  });

  it("refuse what cannot be used, with 601, and keep the value they had", () => {
    const m = new Smtp();
    let caught: unknown;
    try {
      m.setSigningAlgorithm("SHA1");
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SmtpError);
    expect((caught as SmtpError).code).toBe(ErrorCode.InvalidValue);
    expect(m.getSigningAlgorithm()).toBe("sha256");
    expect(() => m.config("EncryptingAlgorithm=RC2")).toThrow(SmtpError);
    expect(m.getEncryptingAlgorithm()).toBe("aes256-cbc");
  });

  it("IncludeCertificate and IncludeChain are booleans read and written by property or config name", () => {
    const m = new Smtp();
    expect(m.getIncludeCertificate()).toBe(true);
    expect(m.includeChain).toBe(false);
    m.setIncludeCertificate(false);
    expect(m.config("IncludeCertificate")).toBe("false");
    m.config("IncludeChain=true");
    expect(m.getIncludeChain()).toBe(true);
  });
});
