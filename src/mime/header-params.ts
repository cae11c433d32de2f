/**
 * MIME header parameters (RFC 2045 §5.1): a value is written as a token when
 * it can be, otherwise as a quoted-string.
 */
import { SmtpError, ErrorCode } from "../errors.js";

/** RFC 2045 token: printable ASCII except SPACE and tspecials. */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * `attr=value`, quoting the value when it is not a token (or always, with
 * `quote`: some clients mishandle unquoted file names). The value must be
 * printable ASCII.
 */
export function formatParameter(attr: string, value: string, quote = false): string {
  if (!quote && TOKEN.test(value)) return `${attr}=${value}`;
  if (!PRINTABLE.test(value)) {
    throw new SmtpError(ErrorCode.InvalidValue, `Parameter ${attr} must be printable ASCII: ${JSON.stringify(value)}`);
  }
  return `${attr}="${value.replace(/["\\]/g, "\\$&")}"`;
}

/** "type/subtype; a=b; c=d" with the separators header folding can break at. */
export function joinParameters(value: string, params: readonly string[]): string {
  return [value, ...params].join("; ");
}
