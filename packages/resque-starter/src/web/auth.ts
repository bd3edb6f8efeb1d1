import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

// Who may see the dashboard and change Resque's failed list through it. Loopback binds need no
// token (the machine's users are trusted, as with resque-web's default); any other bind needs
// one, checked on every request. Changes are POSTs that carry a CSRF token and come from the
// dashboard's own origin.

/** The env variable that gives the token when `--token` does not. */
export const TOKEN_ENV = 'RESQUE_STARTER_WEB_TOKEN';

/** The cookie a `?token=` login sets (a digest of the token, never the token itself). */
export const COOKIE_NAME = 'resque_starter_web';

/** Why: a non-loopback bind without a token would show (and let anyone retry or remove) every job; refuse it in one line. */
export function resolveAccess(host: string, token: string | undefined): { host: string; token: string | undefined } {
  if (token !== undefined && token.trim() === '') throw new UsageError(`Expected \`--token\` (or ${TOKEN_ENV}) to be a non-empty string`);
  if (!isLoopback(host) && token === undefined) {
    throw new UsageError(`Binding the dashboard to \`${host}\` (not a loopback address) needs a token: pass \`--token T\` or set ${TOKEN_ENV}`);
  }
  return { host, token };
}

/** 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

/** What a request shows of itself to `checkAccess`. */
export interface RequestFacts {
  method: string;
  /** The Host header. */
  host: string | undefined;
  cookie: string | undefined;
  authorization: string | undefined;
  /** `?token=` of the URL. */
  queryToken: string | null;
}

export type AccessDecision =
  | { ok: true }
  /** A `?token=` login: set this cookie, then redirect to the same URL without the token. */
  | { ok: 'login'; cookie: string }
  | { ok: false; status: 401 | 403; reason: string };

/**
 * Why: one decision per request. With a token: the Authorization header (`Bearer T`), the login
 * cookie, or `?token=T` (which sets the cookie). Without one (loopback only): the Host header
 * must name a loopback host, so a DNS-rebinding page cannot read or drive the dashboard.
 */
export function checkAccess(req: RequestFacts, token: string | undefined): AccessDecision {
  if (token === undefined) {
    const name = hostName(req.host);
    if (name === undefined || !isLoopback(name)) return { ok: false, status: 403, reason: `Host \`${req.host ?? ''}\` is not a loopback name: open the dashboard as http://127.0.0.1:PORT/ or http://localhost:PORT/` };
    return { ok: true };
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(req.authorization ?? '')?.[1];
  if (bearer !== undefined && same(bearer, token)) return { ok: true };
  const cookie = parseCookies(req.cookie)[COOKIE_NAME];
  if (cookie !== undefined && same(cookie, cookieValue(token))) return { ok: true };
  if (req.queryToken !== null && same(req.queryToken, token)) return { ok: 'login', cookie: cookieValue(token) };
  return { ok: false, status: 401, reason: req.queryToken !== null ? 'wrong token' : 'a token is needed: open the dashboard with ?token=T once (it sets a cookie), or send `Authorization: Bearer T`' };
}

/** `Set-Cookie` for a login: HttpOnly, SameSite=Strict, the whole dashboard, for the browser session. */
export function loginCookie(value: string): string {
  return `${COOKIE_NAME}=${value}; Path=/; HttpOnly; SameSite=Strict`;
}

/**
 * Why: a form on another site must not retry or remove jobs through a logged-in (or loopback)
 * browser. The dashboard's forms carry `csrfToken(secret)` (a per-process secret, so a restart
 * invalidates old pages), and the Origin (or Referer) must be the dashboard's own.
 */
export function csrfToken(secret: string): string {
  return createHmac('sha256', secret).update('csrf').digest('hex').slice(0, 32);
}

export function checkPost(req: { host: string | undefined; origin: string | undefined; referer: string | undefined }, given: string | undefined, secret: string): string | undefined {
  const from = req.origin ?? req.referer;
  if (from === undefined) return 'the request has no Origin or Referer header';
  let fromHost: string;
  try {
    fromHost = new URL(from).host;
  } catch {
    return `the Origin \`${from}\` is not a URL`;
  }
  if (req.host === undefined || fromHost.toLowerCase() !== req.host.toLowerCase()) return `the request comes from \`${from}\`, not from this dashboard`;
  if (given === undefined || !same(given, csrfToken(secret))) return 'the form is stale or foreign (its CSRF token does not match): reload the page';
  return undefined;
}

/** `a=1; b=2` → { a: '1', b: '2' }. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

// --- internal ---

function cookieValue(token: string): string {
  return createHash('sha256').update(`resque-starter-web:${token}`).digest('hex');
}

/** Constant-time comparison (of digests, so lengths never leak). */
function same(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** The name part of a Host header (`[::1]:5678` → `::1`). */
function hostName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon > 0 ? host.slice(0, colon) : host;
}
