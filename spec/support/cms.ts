/**
 * Checks S/MIME output with OpenSSL: `openssl cms -verify` against the test CA and
 * `openssl cms -decrypt` with the recipient fixture, in a scratch directory.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

const SMIME_DIR = fileURLToPath(new URL("../fixtures/smime/", import.meta.url));
export const CA = fileURLToPath(new URL("../fixtures/tls/ca.pem", import.meta.url));

/** A file of spec/fixtures/smime/. */
export const smimeFixture = (name: string): string => join(SMIME_DIR, name);

export interface CmsRun {
  status: number | null;
  stderr: string;
  content: Buffer;
}

export interface CmsTools {
  /** A new file in the scratch directory, with `data` written to it when given. */
  tmp(name: string, data?: Buffer | string): string;
  /** Verifies a signed message (-crlfeol: the MIME framing is CRLF throughout); `extra` adds options such as -signer FILE. */
  verify(message: Buffer, extra?: string[]): CmsRun;
  decrypt(message: Buffer): CmsRun;
}

export function cmsTools(work: string): CmsTools {
  let fileNo = 0;
  const tmp = (name: string, data?: Buffer | string): string => {
    const path = join(work, `${++fileNo}-${name}`);
    if (data !== undefined) writeFileSync(path, data);
    return path;
  };
  const openssl = (args: string[], out: string): CmsRun => {
    const r = spawnSync("openssl", args, { maxBuffer: 64 * 1024 * 1024 });
    return { status: r.status, stderr: r.stderr.toString(), content: r.status === 0 ? readFileSync(out) : Buffer.alloc(0) };
  };
  return {
    tmp,
    verify(message, extra = []) {
      const out = tmp("verified.bin");
      return openssl(["cms", "-verify", "-inform", "SMIME", "-binary", "-crlfeol", "-CAfile", CA, "-in", tmp("signed.eml", message), "-out", out, ...extra], out);
    },
    decrypt(message) {
      const out = tmp("decrypted.bin");
      return openssl(
        ["cms", "-decrypt", "-inform", "SMIME", "-binary", "-recip", smimeFixture("recipient.pem"), "-inkey", smimeFixture("recipient.key"), "-in", tmp("encrypted.eml", message), "-out", out],
        out,
      );
    },
  };
}

/** The content of a successful run (openssl's message on failure). */
export function ok(r: CmsRun): Buffer {
  expect(r.status, `openssl failed: ${r.stderr}`).toBe(0);
  return r.content;
}
