/**
 * A tiny authoritative DNS responder (UDP, dns-packet) on 127.0.0.1 and a
 * port chosen at run time, serving the records a test puts in `zone`:
 *
 *   zone.set("example.test", { MX: [{ preference: 10, exchange: "mx1.example.test" }] });
 *   zone.set("mx1.example.test", { A: ["127.0.0.2"] });
 *
 * A name in the zone without the asked type gets NOERROR with no answer
 * (NODATA); a name not in the zone gets NXDOMAIN. Names are matched case-
 * insensitively. `queries` records every question ("MX example.test").
 * Point the client at it with config DNSServers=`server` ("127.0.0.1:PORT").
 */
import { createSocket, type RemoteInfo } from "node:dgram";
import dnsPacket from "dns-packet";

export interface ZoneEntry {
  /** exchange "." (or "") is a null MX (RFC 7505). */
  MX?: { preference: number; exchange: string }[];
  A?: string[];
  AAAA?: string[];
}

export interface DnsResponder {
  port: number;
  /** "127.0.0.1:PORT", for config DNSServers. */
  server: string;
  zone: Map<string, ZoneEntry>;
  /** "TYPE name" for every question received. */
  queries: string[];
  close(): Promise<void>;
}

const NXDOMAIN = 3;

export async function startDnsResponder(): Promise<DnsResponder> {
  const zone = new Map<string, ZoneEntry>();
  const queries: string[] = [];
  const socket = createSocket("udp4");

  const answerFor = (query: dnsPacket.DecodedPacket): Buffer => {
    const question = query.questions?.[0];
    const name = (question?.name ?? "").replace(/\.$/, "");
    const entry = [...zone.entries()].find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    const answers: dnsPacket.Answer[] = [];
    if (question && entry) {
      if (question.type === "MX") {
        for (const mx of entry.MX ?? []) {
          // The null MX's exchange is the root name, encoded as a single zero byte.
          answers.push({ type: "MX", name: question.name, ttl: 60, class: "IN", data: { preference: mx.preference, exchange: mx.exchange === "." ? "" : mx.exchange } });
        }
      } else if (question.type === "A") {
        for (const a of entry.A ?? []) answers.push({ type: "A", name: question.name, ttl: 60, class: "IN", data: a });
      } else if (question.type === "AAAA") {
        for (const a of entry.AAAA ?? []) answers.push({ type: "AAAA", name: question.name, ttl: 60, class: "IN", data: a });
      }
    }
    return dnsPacket.encode({
      type: "response",
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | (entry ? 0 : NXDOMAIN),
      questions: query.questions ?? [],
      answers,
    });
  };

  socket.on("message", (msg: Buffer, rinfo: RemoteInfo) => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    for (const q of query.questions ?? []) queries.push(`${q.type} ${q.name}`);
    socket.send(answerFor(query), rinfo.port, rinfo.address);
  });
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const port = socket.address().port;
  return {
    port,
    server: `127.0.0.1:${port}`,
    zone,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
