/** The streaming MIME composer. */
export type { AttachmentSource, MimeContent, MimeEntity } from "./types.js";
export { buildMimeEntity, planMimeEntity, type MimePlan } from "./build-entity.js";
export { Base64Encoder, base64EncodedSize, encodeBase64 } from "./base64-encoder.js";
export { QuotedPrintableEncoder, QpState, encodeQuotedPrintable, type QpOptions } from "./qp-encoder.js";
export { chooseTextEncoding, type TransferEncoding } from "./transfer-encoding.js";
export { encodeRfc2231, parseHeaderValue, type ParsedHeaderValue } from "./rfc2231.js";
export { fileNameParams, type FileNameParams } from "./filename-params.js";
export { createBoundary, seededRandom, type RandomSource } from "./boundary.js";
