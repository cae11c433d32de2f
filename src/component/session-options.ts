/**
 * Reads the connection, TLS and AUTH properties / settings into the plain
 * option objects the engine takes. All validation of combinations that can
 * be done before connecting happens here.
 */
import { isIP } from "node:net";
import type { SecureVersion } from "node:tls";
import { valueUsesToken } from "../auth/registry.js";
import type { AuthOptions } from "../engine/authenticator.js";
import { stripBearer } from "../engine/authenticator.js";
import { resolveTlsMode, type SessionOptions } from "../engine/session.js";
import { ErrorCode, SmtpError } from "../errors.js";
import type { PropertyStore } from "../schema/property-store.js";
import { parsePin } from "../transport/certificate-pin.js";
import { readPemOrPath } from "../transport/pem-source.js";
import { proxyFromEnvironment } from "../transport/env-proxy.js";
import { defaultProxyPort } from "../transport/firewall-types.js";
import type { ProxySettings } from "../transport/proxy-connector.js";
import { loadClientCertificate } from "../transport/client-certificate.js";
import { normalizeHost } from "../transport/tcp-connector.js";
import type { ServerCertificateCheck } from "../transport/tls-upgrade.js";

export interface TlsHooks {
  status(message: string): void;
  authorize(check: ServerCertificateCheck): boolean;
}

/** Direct delivery connects to an MX host's address instead of MailServer. */
export interface ServerOverride {
  address: string;
  port: number;
  /** Name checked against the certificate and sent as SNI. */
  name: string;
}

export function sessionOptions(store: PropertyStore, hooks: TlsHooks, override?: ServerOverride): SessionOptions {
  const server = override ? override.address : store.string("MailServer").trim();
  if (server === "") {
    throw new SmtpError(ErrorCode.NoMailServer, "MailServer is empty: set the SMTP server's host name or address", {
      hint: "or config DirectDelivery=true to deliver to each recipient's domain directly",
    });
  }
  const port = override ? override.port : store.number("MailPort");
  const timeoutMs = store.number("Timeout") * 1000;
  const host = normalizeHost(server.replace(/^\*/, ""));
  const absolute = store.bool("AbsoluteTimeout");
  const servername = override ? override.name : String(store.setting("SSLServerName")).trim() || host;
  const tlsMode = resolveTlsMode(store.number("SSLStartMode"), store.get("SSLEnabled") === true, port);
  return {
    host: server,
    port,
    localAddress: store.string("LocalHost"),
    connectTimeoutMs: store.int("ConnectionTimeout") * 1000 || (absolute ? 0 : timeoutMs),
    // With AbsoluteTimeout the whole operation is timed (by the component), not each wait.
    timeoutMs: absolute ? 0 : timeoutMs,
    maxLineLength: store.int("MaxLineLength"),
    maxReplyLength: store.int("MaxReplyLength"),
    maxReplyLines: store.int("MaxReplyLines"),
    maxReplyMs: store.int("MaxReplyTime") * 1000,
    hello: String(store.setting("Hello")),
    allowExtensions: store.get("AllowExtensions") === true,
    tlsMode,
    tls: {
      host: servername,
      servername: isIP(servername) ? "" : servername,
      extraCa: tlsMode === "none" ? [] : extraRoots(String(store.setting("SSLCACerts"))),
      minVersion: String(store.setting("SSLMinVersion")) as SecureVersion,
      maxVersion: String(store.setting("SSLMaxVersion")) as SecureVersion,
      ciphers: String(store.setting("SSLEnabledCipherSuites")),
      clientCert: tlsMode === "none" ? undefined : loadClientCertificate({
        storeType: store.number("SSLCertStoreType"),
        store: store.string("SSLCertStore"),
        password: store.string("SSLCertStorePassword"),
        subject: store.string("SSLCertSubject"),
      }),
      pin: parsePin(store.string("SSLAcceptServerCert")),
      status: hooks.status,
      authorize: hooks.authorize,
    },
    socket: {
      localPort: store.int("LocalPort"),
      useIPv6: store.int("UseIPv6"),
      noDelay: store.bool("TcpNoDelay"),
      keepAlive: store.bool("TCPKeepAlive"),
      keepAliveMs: store.int("KeepAliveTime") * 1000,
      inBufferSize: store.int("InBufferSize"),
      outBufferSize: store.int("OutBufferSize"),
    },
    proxy: proxySettings(store, override ? override.name : server),
    maxTransferRate: store.int("MaxTransferRate"),
    linger: store.bool("Linger"),
    lingerMs: store.int("LingerTime") * 1000,
  };
}

/** FirewallType / Firewall* properties, or the environment with FirewallAutoDetect. */
function proxySettings(store: PropertyStore, server: string): ProxySettings | undefined {
  const type = store.number("FirewallType");
  if (type !== 0) {
    return {
      type,
      host: store.string("FirewallHost").trim(),
      port: store.number("FirewallPort") || defaultProxyPort(type),
      user: store.string("FirewallUser"),
      password: store.string("FirewallPassword"),
    };
  }
  return store.get("FirewallAutoDetect") === true ? proxyFromEnvironment(server) : undefined;
}

/** undefined when no login is wanted (User empty). */
export function authOptions(store: PropertyStore, refreshToken: AuthOptions["refreshToken"]): AuthOptions | undefined {
  const user = store.string("User");
  if (user === "") return undefined;
  const password = store.string("Password");
  const authzid = String(store.setting("AuthorizationIdentity"));
  const mechanism = store.number("AuthMechanism");
  const tokenMechanism = valueUsesToken(mechanism);
  // IP*Works puts the XOAUTH2 token in AuthorizationIdentity; Password works too.
  const token = tokenMechanism ? stripBearer(authzid || password) : "";
  const port = store.number("MailPort");
  return {
    mechanism,
    credentials: {
      user,
      password,
      authorizationIdentity: tokenMechanism ? "" : authzid,
      token,
      host: normalizeHost(store.string("MailServer")),
      port,
    },
    allowCleartext: store.bool("AllowCleartextAuth"),
    logCredentials: store.bool("LogCredentials"),
    refreshToken,
  };
}

function extraRoots(value: string): string[] {
  if (value.trim() === "") return [];
  const certs = readPemOrPath(value, "SSLCACerts").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certs) throw new SmtpError(ErrorCode.InvalidValue, "SSLCACerts holds no PEM certificate");
  return certs;
}
