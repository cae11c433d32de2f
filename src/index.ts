/**
 * Public exports of smtpkit: the `Smtp` client (also `smtp` / `ssmtp`, its IP*Works names), `SmtpPool`,
 * `SmtpError` and its codes, the S/MIME `Certificate`, OAuth 2 tokens, and the option, message, result
 * and event types.
 *
 * @packageDocumentation
 */
export { Smtp, smtp, ssmtp, type CallOptions, type SmtpHooks } from "./smtp.js";
export type { TokenRefresher, AttachmentOptions } from "./client/smtp-client.js";
export type { TokenRefreshRequest } from "./engine/authenticator.js";
export type { RawRecipient } from "./component/compose.js";
export { oauth2, OAuth2TokenProvider, OAUTH2_PRESETS, type OAuth2Options, type OAuth2Preset, type TokenRequest } from "./auth/oauth2-provider.js";
export type { SmtpLogger } from "./client/logger.js";
export type { MailMessage, MailAttachment, MessageObject, AddressInput, AddressListInput } from "./component/mail-message.js";
export { Certificate } from "./smime/certificate.js";
export type { EncodedCertificate } from "./smime/cert-encoding.js";
export type { QueueResult } from "./queue/queue-processor.js";
export type { QueueWorker } from "./queue/redis/queue-worker.js";
export { QUEUE_FORMAT_VERSION } from "./queue/queue-file.js";
export { SmtpPool, type SmtpPoolOptions, type PoolMessage, type PoolEvents } from "./pool/smtp-pool.js";
export { SmtpError, ErrorCode, ERROR_CODES, isSmtpError, type ErrorCodeDoc, type SmtpErrorDetails } from "./errors.js";
export { Direction } from "./events.js";
export type * from "./events.js";
export type { SendResult, RecipientResult, RecipientType } from "./engine/transaction.js";
export type { SmtpReply } from "./engine/reply.js";
export type { ServerCapabilities } from "./engine/capabilities.js";
export type { Connector, ConnectTarget } from "./transport/connector.js";
export type {
  SmtpOptions, SmtpSettings, SettingName, ConfigLine, ConfigString, MessageRecipientFields, MessageHeaderFields, AttachmentFields, ObjectFields,
  ItemListOf, ReadonlyItemList, GeneratedAccessors,
} from "./schema/accessor-types.js";
/** The named enum constants (SSLStartMode.Explicit, AuthMechanism.XOAuth2, ...) and their value types. */
export * from "./schema/constants.generated.js";
export { ENUMS, ENUM_CONSTANTS, type EnumTable, type EnumMember, type EnumName } from "./schema/constants.js";
export { MessageRecipient, MessageHeader, Attachment, Firewall } from "./schema/public-objects.js";
export { PROPERTIES, COLLECTIONS } from "./schema/properties.js";
export { SETTINGS } from "./schema/settings.js";
