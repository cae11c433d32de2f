/**
 * OAuth2 access tokens for XOAUTH2 / OAUTHBEARER from a refresh token
 * (RFC 6749 §6): fetched from the token endpoint when AUTH first needs one,
 * cached until shortly before it expires, and fetched anew when the mail
 * server refuses it. One request at a time per provider, so a pool's
 * connections share a token. Secrets never appear in an error.
 */
import { ErrorCode, SmtpError } from "../errors.js";

/** Token endpoints of the providers people send through. */
export const OAUTH2_PRESETS = {
  /** Gmail / Google Workspace. The refresh token must have the https://mail.google.com/ scope. */
  google: { tokenUrl: "https://oauth2.googleapis.com/token", scope: "" },
  /** Microsoft 365 / Outlook.com (v2.0 endpoint); `tenant` replaces "common". */
  microsoft: { tokenUrl: "https://login.microsoftonline.com/common/oauth2/v2.0/token", scope: "https://outlook.office.com/SMTP.Send offline_access" },
} as const;

/** A provider with a known token endpoint: "google" or "microsoft". */
export type OAuth2Preset = keyof typeof OAUTH2_PRESETS;

/** How to get OAuth 2 access tokens: the client, its refresh token, and the provider or token URL. */
export interface OAuth2Options {
  clientId: string;
  /** Omitted for public clients (installed apps without a secret). */
  clientSecret?: string;
  refreshToken: string;
  /** A preset for tokenUrl and scope. */
  provider?: OAuth2Preset;
  /** The token endpoint; https, or http to a loopback address only. Overrides the preset's. */
  tokenUrl?: string;
  /** Microsoft: the directory (tenant) id or domain instead of "common". */
  tenant?: string;
  /** Sent as `scope` when set (the preset's by default). */
  scope?: string;
  /** Seconds allowed for the token endpoint to answer (default 30). */
  timeout?: number;
  /** Called with the new refresh token when the endpoint rotates it (Microsoft does): store it for the next run. */
  onRefreshToken?: (refreshToken: string) => void;
}

/** What tokenRefresher is asked: `reply` is empty when AUTH needs a first token, else the server's refusal. */
export interface TokenRequest {
  user: string;
  mechanism: string;
  reply: string;
}

/** Renew a token this long before its stated expiry, so it does not expire on the way to the server. */
const EXPIRY_MARGIN_MS = 60_000;
/** A token endpoint's answer is a small JSON object; anything longer is not one. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);

/**
 * Gets OAuth 2 access tokens from a refresh token (Google, Microsoft or any token endpoint),
 * caches them until shortly before they expire, and renews them; `oauth2(options)` makes one as
 * a `tokenRefresher` for `Smtp` (the `oauth2` option does it for you).
 */
export class OAuth2TokenProvider {
  readonly #clientId: string;
  readonly #clientSecret: string;
  #refreshToken: string;
  readonly #url: URL;
  readonly #scope: string;
  readonly #timeoutMs: number;
  readonly #onRefreshToken: ((token: string) => void) | undefined;
  #cached: { token: string; expiresAt: number } | undefined;
  #inflight: Promise<string> | undefined;

  constructor(options: OAuth2Options) {
    if (options === null || typeof options !== "object") throw invalid("OAuth2 options must be an object");
    const { clientId, clientSecret = "", refreshToken, provider, tenant, timeout = 30 } = options;
    if (typeof clientId !== "string" || clientId.trim() === "") throw invalid("OAuth2 clientId is empty");
    if (typeof refreshToken !== "string" || refreshToken.trim() === "") throw invalid("OAuth2 refreshToken is empty");
    if (typeof clientSecret !== "string") throw invalid("OAuth2 clientSecret must be a string");
    if (provider !== undefined && !Object.hasOwn(OAUTH2_PRESETS, provider)) {
      throw invalid(`OAuth2 provider must be one of ${Object.keys(OAUTH2_PRESETS).join(", ")}; got ${String(provider)}`);
    }
    const preset = provider ? OAUTH2_PRESETS[provider] : undefined;
    let url = options.tokenUrl ?? preset?.tokenUrl;
    if (!url) throw invalid("OAuth2 needs a tokenUrl or a provider (google, microsoft)");
    if (tenant !== undefined) {
      if (provider !== "microsoft" || !/^[A-Za-z0-9.-]+$/.test(tenant)) throw invalid("OAuth2 tenant applies to provider microsoft and is a tenant id or domain");
      url = url.replace("/common/", `/${tenant}/`);
    }
    this.#url = tokenEndpoint(url);
    if (typeof timeout !== "number" || !(timeout > 0)) throw invalid("OAuth2 timeout must be a positive number of seconds");
    this.#clientId = clientId;
    this.#clientSecret = clientSecret;
    this.#refreshToken = refreshToken;
    this.#scope = options.scope ?? preset?.scope ?? "";
    this.#timeoutMs = timeout * 1000;
    this.#onRefreshToken = options.onRefreshToken;
  }

  /** The cached access token while it is valid, else a new one. */
  accessToken(): Promise<string> {
    const cached = this.#cached;
    if (cached && Date.now() < cached.expiresAt) return Promise.resolve(cached.token);
    return this.refresh();
  }

  /** A new access token from the endpoint (one request even when several callers ask at once). */
  refresh(): Promise<string> {
    this.#inflight ??= this.#fetch().finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  /**
   * For Smtp.tokenRefresher: the cached token when AUTH needs a first one,
   * a new one after the server refused a token.
   */
  readonly refresher = (request: TokenRequest): Promise<string> => {
    if (request.reply === "") return this.accessToken();
    this.#cached = undefined;
    return this.refresh();
  };

  async #fetch(): Promise<string> {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: this.#refreshToken, client_id: this.#clientId });
    if (this.#clientSecret) form.set("client_secret", this.#clientSecret);
    if (this.#scope) form.set("scope", this.#scope);
    const where = this.#url.origin + this.#url.pathname;
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.#url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: form.toString(),
        redirect: "error",
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await limitedText(response);
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
      const reason = timedOut ? `no answer within ${this.#timeoutMs / 1000} s` : causeText(e);
      throw new SmtpError(ErrorCode.OAuthToken, `the OAuth2 token endpoint ${where} could not be reached: ${reason}`, {
        hint: "check the tokenUrl (or provider) and the network; the mail server was not contacted with a token",
      });
    }
    const body = parseJson(text);
    if (!response.ok || typeof body?.["access_token"] !== "string" || body["access_token"] === "") {
      throw endpointRefusal(where, response.status, body);
    }
    const token = body["access_token"];
    const expiresIn = Number(body["expires_in"]);
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : 3600_000;
    this.#cached = { token, expiresAt: Date.now() + Math.max(0, lifetime - EXPIRY_MARGIN_MS) };
    const rotated = body["refresh_token"];
    if (typeof rotated === "string" && rotated !== "" && rotated !== this.#refreshToken) {
      this.#refreshToken = rotated;
      this.#onRefreshToken?.(rotated);
    }
    return token;
  }
}

/** `new Smtp({ tokenRefresher: oauth2({ provider: "google", clientId, clientSecret, refreshToken }) })`. */
export function oauth2(options: OAuth2Options): (request: TokenRequest) => Promise<string> {
  return new OAuth2TokenProvider(options).refresher;
}

function tokenEndpoint(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`OAuth2 tokenUrl is not a URL: ${JSON.stringify(text)}`);
  }
  // The refresh token and client secret travel in the request: only TLS, or this machine.
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw invalid(`OAuth2 tokenUrl must be https (http only to 127.0.0.1, ::1 or localhost); got ${url.protocol}//${url.host}`);
  }
  if (url.username || url.password) throw invalid("OAuth2 tokenUrl must not hold credentials: use clientId / clientSecret");
  return url;
}

async function limitedText(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function endpointRefusal(where: string, status: number, body: Record<string, unknown> | undefined): SmtpError {
  const error = typeof body?.["error"] === "string" ? body["error"] : "";
  const description = typeof body?.["error_description"] === "string" ? body["error_description"].split(/\r?\n/)[0]?.slice(0, 300) ?? "" : "";
  const said = error ? `${error}${description ? `: ${description}` : ""}` : body ? "no access_token in the answer" : "the answer is not JSON";
  const hint =
    error === "invalid_grant"
      ? "the refresh token was revoked, expired or issued to another client: sign in again to get a new one"
      : error === "invalid_client" || error === "unauthorized_client"
        ? "check clientId and clientSecret (and that the app may use the refresh_token grant)"
        : "check tokenUrl, clientId, clientSecret and refreshToken";
  return new SmtpError(ErrorCode.OAuthToken, `the OAuth2 token endpoint ${where} gave no access token (HTTP ${status}, ${said})`, { hint });
}

function causeText(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  const code = cause instanceof Error && "code" in cause && typeof cause.code === "string" ? `${cause.code} ` : "";
  return `${code}${cause instanceof Error ? cause.message : String(cause)}`.trim();
}

function invalid(message: string): SmtpError {
  return new SmtpError(ErrorCode.InvalidValue, message);
}
