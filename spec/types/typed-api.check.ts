/**
 * Usages the typed API must accept (compiled by `npm run typecheck`, and again by
 * spec/unit/typed-api.spec.ts next to the usages that must not compile).
 */
import {
  AuthMechanism, CertStoreType, FirewallType, Importance, MessageRecipientType, Priority, Sensitivity, Smtp, SmtpPool,
  SSLCertStoreType, SSLStartMode, type ConfigLine, type SmtpOptions, type SmtpSettings,
} from "../../src/index.js";

declare const fromUser: string;

const smtp = new Smtp({
  sslStartMode: SSLStartMode.Explicit,
  authMechanism: AuthMechanism.XOAuth2,
  firewallType: FirewallType.Socks5,
  importance: Importance.High,
  priority: Priority.epUrgent,
  sensitivity: Sensitivity.CompanyConfidential,
  sslCertStoreType: SSLCertStoreType.PfxFile,
  certStoreType: CertStoreType.cstPEMKeyBlob,
  messageRecipients: [{ address: "ann@example.com", type: MessageRecipientType.BCc }],
  settings: { StopOnToErrors: false, ChunkSize: 65536, FirewallType: FirewallType.fwSOCKS5, SSLMinVersion: "TLSv1.3", Hello: "client.example" },
});

// Setters take the constants and plain literals that are values of the enum.
smtp.sslStartMode = SSLStartMode.sslExplicit;
smtp.setSSLStartMode(2);
smtp.setAuthMechanism(AuthMechanism.amSCRAMSHA256);
smtp.setMessageRecipientType(0, MessageRecipientType.rtCc);
smtp.getFirewall().firewallType = FirewallType.Tunnel;

// Getters give the enum's value type, which widens to number.
const mode: SSLStartMode = smtp.sslStartMode;
const store: SSLCertStoreType = smtp.getSSLCertStoreType();
const asNumber: number = smtp.getAuthMechanism();
const auto: 99 = SSLCertStoreType.Auto;

// config(): the table's names, other case, and names only known at run time.
smtp.config("StopOnToErrors=false");
smtp.config("ChunkSize");
smtp.config("stopontoerrors=false");
smtp.config(fromUser);
const line: ConfigLine = "AllowEmptyTo=true";
smtp.config(line);

// SmtpPool takes the same options, settings included.
const pool = new SmtpPool({ mailServer: "mail.example.com", sslStartMode: SSLStartMode.Implicit, settings: { UsePipelining: false } });
const options: SmtpOptions = { settings: { DSNRet: "HDRS" } satisfies SmtpSettings };

export { auto, asNumber, mode, options, pool, store };
