/** The demo's decoding of what the server received, with mailparser. */
import { importDevDependency } from "./dev-dependency.js";

export interface DecodedMail {
  subject: string;
  from: string;
  to: string;
  cc: string;
  text: string;
}

export async function decodeMail(raw: Buffer): Promise<DecodedMail> {
  const { simpleParser } = await importDevDependency("mailparser", () => import("mailparser"));
  const parsed = await simpleParser(raw);
  const list = (v: { text: string } | { text: string }[] | undefined): string => [v].flat().map((a) => a?.text ?? "").join(", ");
  return {
    subject: parsed.subject ?? "",
    from: parsed.from?.text ?? "",
    to: list(parsed.to),
    cc: list(parsed.cc),
    text: parsed.text ?? "",
  };
}
