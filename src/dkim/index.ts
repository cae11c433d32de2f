/**
 * DKIM signing (RFC 6376, RFC 8463 Ed25519).
 *
 * Use: pipe the body through a DkimBodyHasher (or call bodyHash on a buffer),
 * then signHeaders(headers, hasher.digest(), options) and put the returned
 * header first in the header block.
 */
export { DkimBodyHasher, bodyHash, type BodyCanonicalization } from "./body-hash.js";
export {
  validateDkimOptions,
  DEFAULT_SIGNED_HEADERS,
  type DkimOptions,
  type DkimAlgorithm,
  type DkimCanonicalization,
} from "./options.js";
export { signHeaders, SIGNATURE_FIELD } from "./sign.js";
