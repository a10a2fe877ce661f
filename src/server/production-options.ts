import { z } from 'zod'
import { NexflowError } from '../errors.js'

/**
 * The options that protect and observe a server in production: authentication, rate limits, CORS,
 * secure headers, metrics and log lines. Their zod schemas are part of the server's one options
 * schema (options.ts); {@link resolveProductionOptions} applies their defaults and the environment
 * (`NEXFLOW_API_KEYS`, `NODE_ENV`) once.
 */

/** A shorter API key could be guessed; a longer one is not a key. */
export const API_KEY_LENGTH = { min: 16, max: 512 } as const
/** HS256 with a shorter secret can be brute-forced offline from one token (RFC 7518 §3.2 asks for at least the hash size). */
export const JWT_SECRET_MIN_BYTES = 32
/** What JWKS-verified tokens may be signed with unless `algorithms` says otherwise: asymmetric only. */
export const JWKS_DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const

/** Every default of these options, in one place. */
export const PRODUCTION_DEFAULTS = {
  secureHeaders: true,
  metrics: true,
  logRequests: true,
  logRuns: true,
  cors: {
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'X-Request-Id', 'Idempotency-Key'],
    exposeHeaders: ['X-Request-Id', 'Retry-After', 'Idempotent-Replayed', 'Location', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy'],
    maxAgeSec: 600,
  },
} as const

/** Visible ASCII without a comma (`NEXFLOW_API_KEYS` is comma-separated) or a space: safe in a header. */
const API_KEY_PATTERN = /^[\x21-\x2b\x2d-\x7e]+$/

const apiKeySchema = z
  .string()
  .min(API_KEY_LENGTH.min, { error: `an API key must be at least ${API_KEY_LENGTH.min} characters (e.g. the output of: openssl rand -hex 32)` })
  .max(API_KEY_LENGTH.max, { error: `an API key must be at most ${API_KEY_LENGTH.max} characters` })
  .regex(API_KEY_PATTERN, { error: 'an API key may hold only visible ASCII characters other than a comma' })

const jwtSchema = z
  .strictObject({
    /** HS256 secret, at least 32 bytes. */
    secret: z
      .string()
      .refine((secret) => Buffer.byteLength(secret, 'utf8') >= JWT_SECRET_MIN_BYTES, { error: `auth.jwt.secret must be at least ${JWT_SECRET_MIN_BYTES} bytes for HS256 (e.g. the output of: openssl rand -hex 32)` })
      .optional(),
    /** Where the signing keys are published (RS256, ES256, EdDSA...). */
    jwksUrl: z.url({ protocol: /^https?$/, error: 'auth.jwt.jwksUrl must be an http(s) URL' }).optional(),
    issuer: z.string().min(1).optional(),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    algorithms: z.array(z.string().regex(/^(RS|PS|ES)(256|384|512)$|^EdDSA$/, { error: 'auth.jwt.algorithms: expected RS256, PS256, ES256 (or 384, 512) or EdDSA' })).min(1).optional(),
    clockToleranceSec: z.number().int().min(0).max(300).optional(),
  })
  .superRefine((jwt, context) => {
    if ((jwt.secret === undefined) === (jwt.jwksUrl === undefined)) context.addIssue({ code: 'custom', message: 'auth.jwt needs exactly one of secret (HS256) and jwksUrl' })
    if (jwt.secret !== undefined && jwt.algorithms !== undefined) context.addIssue({ code: 'custom', message: 'auth.jwt.algorithms goes with jwksUrl; a secret always verifies HS256' })
    if (jwt.jwksUrl !== undefined && new URL(jwt.jwksUrl).protocol === 'http:' && !isLoopback(new URL(jwt.jwksUrl).hostname)) {
      context.addIssue({ code: 'custom', message: 'auth.jwt.jwksUrl must be https (plain http only on this machine: localhost, 127.0.0.1, [::1])' })
    }
  })

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname)
}

const authSchema = z.union([
  z.literal(false),
  z.strictObject({
    apiKeys: z.array(apiKeySchema).max(1000).optional(),
    jwt: jwtSchema.optional(),
  }),
])

const rateLimitSchema = z.union([
  z.literal(false),
  z.strictObject({
    windowMs: z.number().int().min(1000, { error: 'rateLimit.windowMs must be at least 1000 ms' }).max(86_400_000, { error: 'rateLimit.windowMs must be at most one day' }),
    max: z.number().int().min(1).max(1_000_000_000),
    shared: z.boolean().optional(),
  }),
])

const origin = z.string().regex(/^(\*|https?:\/\/[^\s/,]+)$/, { error: 'cors.origin: expected "*" or an origin such as "https://app.example.com" (scheme and host, no path)' })
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'expected header names' })

const corsSchema = z.union([
  z.literal(false),
  z
    .strictObject({
      origin: z.union([origin, z.array(origin).min(1)]),
      allowMethods: z.array(z.string().regex(/^[A-Z]+$/)).optional(),
      allowHeaders: z.array(headerName).optional(),
      exposeHeaders: z.array(headerName).optional(),
      credentials: z.boolean().optional(),
      maxAgeSec: z.number().int().min(0).max(86_400).optional(),
    })
    .refine((cors) => !(cors.credentials === true && [cors.origin].flat().includes('*')), { error: 'cors: credentials: true cannot go with origin "*" (browsers refuse it); list the origins' }),
])

/** The headers of hono's `secureHeaders` a config may set: `false` drops one, a string replaces its value. */
const SECURE_HEADER_NAMES = [
  'crossOriginEmbedderPolicy',
  'crossOriginResourcePolicy',
  'crossOriginOpenerPolicy',
  'originAgentCluster',
  'referrerPolicy',
  'strictTransportSecurity',
  'xContentTypeOptions',
  'xDnsPrefetchControl',
  'xDownloadOptions',
  'xFrameOptions',
  'xPermittedCrossDomainPolicies',
  'xXssProtection',
] as const

const headerValue = z.union([z.boolean(), z.string().regex(/^[\x20-\x7e]*$/, { error: 'a header value must be printable ASCII' })])
const secureHeadersSchema = z.union([
  z.boolean(),
  z.strictObject({
    ...Object.fromEntries(SECURE_HEADER_NAMES.map((name) => [name, headerValue.optional()])),
    /** Directives in hono's camelCase (`defaultSrc: ["'none'"]`); `false` sends none. */
    contentSecurityPolicy: z.union([z.literal(false), z.record(z.string().regex(/^[a-zA-Z]+$/), z.array(z.string().regex(/^[\x20-\x7e]*$/)))]).optional(),
  }) as z.ZodType<SecureHeadersConfig>,
])

const logSchema = z.strictObject({
  requests: z.boolean().optional(),
  runs: z.boolean().optional(),
  format: z.enum(['json', 'text']).optional(),
})

/** The zod shapes of these options, for the server's options schema. */
export const productionConfigShape = {
  auth: authSchema.optional(),
  rateLimit: rateLimitSchema.optional(),
  cors: corsSchema.optional(),
  secureHeaders: secureHeadersSchema.optional(),
  metrics: z.boolean().optional(),
  log: logSchema.optional(),
}

/** What each option expects, for messages that say how to fix them. */
export const PRODUCTION_HINTS = {
  auth: 'false, or { apiKeys?: string[], jwt?: { secret | jwksUrl, issuer?, audience? } }, e.g. auth: { apiKeys: [process.env.MY_KEY] }',
  rateLimit: 'false, or { windowMs, max, shared? }, e.g. rateLimit: { windowMs: 60_000, max: 100 }',
  cors: 'false, or { origin, allowMethods?, allowHeaders?, exposeHeaders?, credentials?, maxAgeSec? }, e.g. cors: { origin: "https://app.example.com" }',
  secureHeaders: 'true (the default), false, or an object of hono secureHeaders settings, e.g. secureHeaders: { strictTransportSecurity: false }',
  metrics: 'metrics: true (GET /metrics, the default) or metrics: false',
  log: 'an object { requests?: boolean, runs?: boolean, format?: "json" | "text" }, e.g. log: { requests: false }',
} as const

/** Authentication. API keys and JWTs may both be accepted. */
export interface AuthOptions {
  /** Keys accepted in `X-API-Key` or `Authorization: Bearer`; each 16 to 512 visible ASCII characters, no comma. `NEXFLOW_API_KEYS` adds more. */
  apiKeys?: string[]
  jwt?: JwtOptions
}

/** JWTs in `Authorization: Bearer`: HS256 with `secret`, or keys from `jwksUrl`. */
export interface JwtOptions {
  /** HS256 secret, at least 32 bytes. */
  secret?: string
  /** The JSON Web Key Set of the issuer (https, or http on loopback). */
  jwksUrl?: string
  /** Required `iss`. */
  issuer?: string
  /** Required `aud` (one of). */
  audience?: string | string[]
  /** With `jwksUrl`: accepted algorithms (default: RS, PS, ES 256/384/512 and EdDSA). */
  algorithms?: string[]
  /** Leeway on `exp` and `nbf` (default 0). */
  clockToleranceSec?: number
}

/** Per client (API key or JWT subject, else IP address): at most `max` requests per `windowMs`. */
export interface RateLimitOptions {
  windowMs: number
  max: number
  /**
   * With PostgreSQL durability, the counts live in its database, so every instance behind the load
   * balancer counts a client's requests together (default true). false: each process counts its
   * own. The embedded store has one instance: counts stay in memory either way.
   */
  shared?: boolean
}

/** Cross-origin requests from browsers (hono's `cors`). */
export interface CorsOptions {
  /** `"*"`, an origin, or a list of origins. */
  origin: string | string[]
  allowMethods?: string[]
  allowHeaders?: string[]
  exposeHeaders?: string[]
  credentials?: boolean
  maxAgeSec?: number
}

/** hono's `secureHeaders` settings that are plain data: `false` drops a header, a string replaces its value. */
export type SecureHeadersConfig = Partial<Record<(typeof SECURE_HEADER_NAMES)[number], boolean | string>> & {
  contentSecurityPolicy?: false | Record<string, string[]>
}

/** One log line per request and per run. */
export interface LogOptions {
  /** A line per HTTP request (default true). */
  requests?: boolean
  /** A line per workflow run (default true). */
  runs?: boolean
  /** `json` (default when stdout is not a terminal) or `text`. */
  format?: 'json' | 'text'
}

/** The production options as a config file or the CLI may set them. */
export interface ProductionOptions {
  /** Authentication; on by default when `NODE_ENV=production` (keys then required), else on when keys are given. `false` turns it off on purpose. */
  auth?: false | AuthOptions
  /** Off unless set. */
  rateLimit?: false | RateLimitOptions
  /** Off unless set. */
  cors?: false | CorsOptions
  /** On by default. */
  secureHeaders?: boolean | SecureHeadersConfig
  /** `GET /metrics` in the Prometheus text format (default true; behind auth when auth is on). */
  metrics?: boolean
  log?: LogOptions
}

export interface ResolvedJwt {
  secret: string | undefined
  jwksUrl: string | undefined
  issuer: string | undefined
  audience: string | string[] | undefined
  algorithms: string[]
  clockToleranceSec: number
}

export interface ResolvedAuth {
  apiKeys: readonly string[]
  jwt: ResolvedJwt | undefined
}

export interface ResolvedCors {
  origin: string | string[]
  allowMethods: string[]
  allowHeaders: string[]
  exposeHeaders: string[]
  credentials: boolean
  maxAgeSec: number
}

export interface ResolvedProductionOptions {
  /** `undefined`: every route is open. */
  auth: ResolvedAuth | undefined
  rateLimit: RateLimitOptions | undefined
  cors: ResolvedCors | undefined
  /** `undefined`: no secure headers. */
  secureHeaders: SecureHeadersConfig | undefined
  metrics: boolean
  log: { requests: boolean; runs: boolean; format: 'json' | 'text' }
}

type ParsedProductionOptions = { [K in keyof typeof productionConfigShape]?: z.output<(typeof productionConfigShape)[K]> }

/** `NEXFLOW_API_KEYS`: comma-separated, spaces around each key ignored. */
function keysFromEnv(env: NodeJS.ProcessEnv): string[] {
  const keys = (env.NEXFLOW_API_KEYS ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '')
  for (const [index, key] of keys.entries()) {
    const parsed = apiKeySchema.safeParse(key)
    if (!parsed.success) {
      throw new NexflowError('CONFIG_INVALID', `Invalid NEXFLOW_API_KEYS: key ${index + 1} (${key.length} characters): ${parsed.error.issues[0]?.message ?? 'invalid'}`, { details: { option: 'NEXFLOW_API_KEYS' } })
    }
  }
  return keys
}

/**
 * Applies defaults and the environment to the parsed production options. Throws `CONFIG_INVALID`
 * when `NODE_ENV=production` and no way to authenticate is configured, naming what to set.
 */
export function resolveProductionOptions(given: ParsedProductionOptions, env: NodeJS.ProcessEnv, stdoutIsTty: boolean): ResolvedProductionOptions {
  return {
    auth: resolveAuth(given.auth, env),
    rateLimit: given.rateLimit === false ? undefined : given.rateLimit,
    cors: given.cors === undefined || given.cors === false ? undefined : resolveCors(given.cors),
    secureHeaders: given.secureHeaders === false ? undefined : given.secureHeaders === true || given.secureHeaders === undefined ? {} : given.secureHeaders,
    metrics: given.metrics ?? PRODUCTION_DEFAULTS.metrics,
    log: {
      requests: given.log?.requests ?? PRODUCTION_DEFAULTS.logRequests,
      runs: given.log?.runs ?? PRODUCTION_DEFAULTS.logRuns,
      format: given.log?.format ?? (stdoutIsTty ? 'text' : 'json'),
    },
  }
}

function resolveAuth(auth: ParsedProductionOptions['auth'], env: NodeJS.ProcessEnv): ResolvedAuth | undefined {
  if (auth === false) return undefined
  const apiKeys = [...new Set([...(auth?.apiKeys ?? []), ...keysFromEnv(env)])]
  const jwt = auth?.jwt
  if (apiKeys.length === 0 && jwt === undefined) {
    if (env.NODE_ENV === 'production') {
      throw new NexflowError(
        'CONFIG_INVALID',
        'NODE_ENV=production requires authentication and none is configured: set NEXFLOW_API_KEYS=<key>[,<key>...] (each at least 16 characters, e.g. from: openssl rand -hex 32), or the option auth: { apiKeys: [...] } or auth: { jwt: { secret | jwksUrl } } (in nexflow.config.* or new Nexus({ ... })); auth: false (--no-auth) turns it off on purpose, e.g. behind a proxy that authenticates',
        { details: { option: 'auth' } },
      )
    }
    if (auth !== undefined) throw new NexflowError('CONFIG_INVALID', 'Invalid Nexus option `auth`: it names no API key and no JWT setting; add auth.apiKeys or auth.jwt, set NEXFLOW_API_KEYS, or remove it', { details: { option: 'auth' } })
    return undefined
  }
  return {
    apiKeys,
    jwt:
      jwt === undefined
        ? undefined
        : {
            secret: jwt.secret,
            jwksUrl: jwt.jwksUrl,
            issuer: jwt.issuer,
            audience: jwt.audience,
            algorithms: jwt.secret !== undefined ? ['HS256'] : (jwt.algorithms ?? [...JWKS_DEFAULT_ALGORITHMS]),
            clockToleranceSec: jwt.clockToleranceSec ?? 0,
          },
  }
}

function resolveCors(cors: CorsOptions): ResolvedCors {
  const defaults = PRODUCTION_DEFAULTS.cors
  return {
    origin: cors.origin,
    allowMethods: cors.allowMethods ?? [...defaults.allowMethods],
    allowHeaders: cors.allowHeaders ?? [...defaults.allowHeaders],
    exposeHeaders: cors.exposeHeaders ?? [...defaults.exposeHeaders],
    credentials: cors.credentials ?? false,
    maxAgeSec: cors.maxAgeSec ?? defaults.maxAgeSec,
  }
}
