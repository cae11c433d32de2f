/**
 * require() for what the package loads only on first use: PKI.js and asn1js,
 * so a PKCS#12 store is read synchronously (the Certificate constructor)
 * without loading them with the package (about 130 ms at import, and most
 * programs never read a PKCS#12 file); bullmq and ioredis, optional peers
 * that only the Redis outbox needs.
 * scripts/build.mjs replaces this module in each output with the form that
 * resolves from the package itself (ESM: createRequire(import.meta.url); CJS:
 * the module's own require). This body serves the TypeScript sources (the
 * tests), which run from the repository root.
 */
import { createRequire } from "node:module";
import { join } from "node:path";

export const syncRequire: NodeJS.Require = createRequire(join(process.cwd(), "package.json"));
