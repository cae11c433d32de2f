/**
 * MD4 (RFC 1320), for the NT hash of NTLM (MS-NLMP 3.3.1: MD4(UTF-16LE(password))).
 *
 * Our own because Node's OpenSSL 3 keeps MD4 in the legacy provider, which is
 * not loaded by default (createHash("md4") throws), and a WebAssembly hash
 * library for this one digest weighed 2 MB installed. MD4 is broken as a hash;
 * NTLM uses it only because the protocol fixes it, so nothing else may use it.
 *
 * Written from the RFC's section 3 step by step; checked against its appendix
 * A.5 vectors and against OpenSSL (spec/unit/md4.spec.ts).
 */

/** Step 3: the initial state A, B, C, D (RFC 1320 writes them as little-endian bytes). */
const INIT = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476] as const;

/** Round 2 and 3 additive constants: floor(2^30 * sqrt(2)) and floor(2^30 * sqrt(3)). */
const K2 = 0x5a827999;
const K3 = 0x6ed9eba1;

/** The word order of rounds 2 and 3 (round 1 takes X[0..15] in order). */
const R2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15] as const;
const R3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15] as const;

/** Shift amounts of each round, by position within a group of four operations. */
const S1 = [3, 7, 11, 19] as const;
const S2 = [3, 5, 9, 13] as const;
const S3 = [3, 9, 11, 15] as const;

const rotl = (x: number, s: number): number => (x << s) | (x >>> (32 - s));
const f = (x: number, y: number, z: number): number => (x & y) | (~x & z);
const g = (x: number, y: number, z: number): number => (x & y) | (x & z) | (y & z);
const h = (x: number, y: number, z: number): number => x ^ y ^ z;

/** The 16-byte MD4 digest of `data`. */
export function md4(data: Uint8Array): Buffer {
  // Steps 1 and 2: 0x80, zeros to 56 mod 64, then the bit length as 64-bit little-endian.
  const padded = Buffer.alloc((Math.floor((data.length + 8) / 64) + 1) * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  padded.writeBigUInt64LE(BigInt(data.length) * 8n, padded.length - 8);

  const state: number[] = [...INIT];
  const x = new Array<number>(16);
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i++) x[i] = padded.readInt32LE(offset + i * 4);
    // v[0..3] are A, B, C, D; each operation writes into A, D, C, B in turn (the RFC's [abcd k s]).
    const v: number[] = [...state];
    const round = (fn: (x: number, y: number, z: number) => number, order: readonly number[] | null, shifts: readonly number[], k: number): void => {
      for (let i = 0; i < 16; i++) {
        const a = (4 - (i % 4)) % 4;
        const b = (a + 1) % 4;
        const c = (a + 2) % 4;
        const d = (a + 3) % 4;
        const word = x[order === null ? i : (order[i] as number)] as number;
        v[a] = rotl(((v[a] as number) + fn(v[b] as number, v[c] as number, v[d] as number) + word + k) | 0, shifts[i % 4] as number);
      }
    };
    round(f, null, S1, 0);
    round(g, R2, S2, K2);
    round(h, R3, S3, K3);
    // Step 4's end: add this block's result to the state.
    for (let i = 0; i < 4; i++) state[i] = ((state[i] as number) + (v[i] as number)) | 0;
  }

  // Step 5: A, B, C, D as little-endian bytes.
  const out = Buffer.alloc(16);
  state.forEach((word, i) => out.writeInt32LE(word, i * 4));
  return out;
}
