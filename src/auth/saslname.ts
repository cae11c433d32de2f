/** GS2 / SCRAM saslname (RFC 5801 §4, RFC 5802 §5.1): "=" and "," are escaped as "=3D" and "=2C". */
export function saslName(name: string): string {
  return name.replace(/[=,]/g, (ch) => (ch === "=" ? "=3D" : "=2C"));
}
