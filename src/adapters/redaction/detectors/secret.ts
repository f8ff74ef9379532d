/**
 * Secrets: credentials that grant access on their own. Three sources, strongest first:
 * - PEM private key blocks, from the BEGIN line to the matching END line (or the end of the text
 *   when the block was cut off);
 * - well-known key formats whose prefix names the issuer (JWTs, OpenAI `sk-`, Stripe `sk_live_`,
 *   AWS `AKIA`, GitHub `ghp_`/`github_pat_`, Slack `xox?-`, Google `AIza`, GitLab, npm, Hugging
 *   Face, SendGrid), each with the length and alphabet its issuer uses;
 * - a long high-entropy token (mixed letters and digits, ≥ 3 bits of entropy per character) within
 *   a few words after a word like key, token, secret or password, and any non-dictionary-looking
 *   value written right after "password is" / "password:";
 * - the value assigned to a name of code or configuration one of whose parts is such a word
 *   (`AWS_SECRET_ACCESS_KEY=…`, `accessToken: "…"`, `db-password=…`), where the words' own
 *   boundaries fail: a high-entropy token, or for a password any non-dictionary-looking value.
 */
import type { DetectedEntity } from '../../../domain/pii.js';
import { matchAll, span } from '../span.js';

const PRIVATE_KEY =
  /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----[\s\S]*?(?:-----END \1PRIVATE KEY\2-----|$)/g;

const KNOWN_FORMATS: readonly RegExp[] = [
  /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  /sk-(?:proj-|ant-|live-)?[A-Za-z0-9_-]{20,}/g,
  /(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}/g,
  /(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}/g,
  /gh[pousr]_[A-Za-z0-9]{36,}/g,
  /github_pat_[A-Za-z0-9_]{22,}/g,
  /xox[abposr]-[A-Za-z0-9-]{10,}/g,
  /AIza[0-9A-Za-z_-]{35}/g,
  /glpat-[A-Za-z0-9_-]{20,}/g,
  /npm_[A-Za-z0-9]{36}/g,
  /hf_[A-Za-z0-9]{30,}/g,
  /SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g,
];

// Runs of spaces are bounded, so that a keyword before a long run of them costs no more than it.
const KEYWORD_THEN_TOKEN =
  /\b(?:api[ _-]?key|access[ _-]?key|secret(?:[ _-]?key)?|token|bearer|auth(?:orization)?|credentials?|password|passwd|pwd|client[ _-]?secret|private[ _-]?key|key)s?\b(?:[^\S\n]{1,8}[\w'-]{1,12}){0,3}?[^\S\n]{0,8}(?::=|=>|[:=])?[^\S\n]{0,8}["'`]?([A-Za-z0-9+/_.~=-]{16,})/gi;

const PASSWORD_VALUE =
  /\b(?:password|passwd|pwd|passcode|passphrase|pin code)\b[^\S\n]{0,8}(?:is|was|:|=)[^\S\n]{0,8}["'`]?([^\s"'`]{6,64})/gi;

/**
 * A name of code or configuration (parts joined by `_` or `-`, or in camelCase) assigned a value.
 * The name starts where no name character stands before it and is bounded, so that a long word
 * costs one bounded try per start.
 */
const ASSIGNED_NAME =
  /(?<![A-Za-z0-9_-])([A-Za-z][A-Za-z0-9_-]{0,63})["'`]?[^\S\n]{0,8}(?::=|=>|[:=])[^\S\n]{0,8}["'`]?([^\s"'`]{6,512})/g;

/** Parts of a name that make its value a credential. */
const SECRET_NAME_PARTS = new Set(['key', 'keys', 'apikey', 'secret', 'secrets', 'token', 'tokens', 'credential', 'credentials', 'auth', 'pat']);
const PASSWORD_NAME_PARTS = new Set(['password', 'passwd', 'pwd', 'pass', 'passphrase', 'passcode']);

/** `AWS_SECRET_ACCESS_KEY` → aws, secret, access, key; `accessToken` → access, token. */
function nameParts(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[\s_-]+/)
    .filter((part) => part !== '');
}

/** The secret value of an assignment to a credential's name, or null. */
function assignedSecret(name: string, value: string): string | null {
  const parts = nameParts(name);
  if (parts.some((part) => PASSWORD_NAME_PARTS.has(part))) {
    const trimmed = withoutTrailingPunctuation(value);
    return looksLikePassword(trimmed) ? trimmed : null;
  }
  if (!parts.some((part) => SECRET_NAME_PARTS.has(part))) return null;
  const token = /^[A-Za-z0-9+/_.~=-]+/.exec(value)?.[0] ?? '';
  return token.length >= 16 && looksRandom(token) ? token : null;
}

function entropyPerChar(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

function looksRandom(token: string): boolean {
  return /\d/.test(token) && /[A-Za-z]/.test(token) && entropyPerChar(token) >= 3;
}

/** A value ends before the punctuation of the sentence it is written in. */
function withoutTrailingPunctuation(value: string): string {
  return value.replace(/[.,;!?)]+$/, '');
}

/** Whether a value, its trailing punctuation taken off, reads as a password rather than prose. */
function looksLikePassword(value: string): boolean {
  // "password is incorrect" and similar: a plain lowercase word is prose, not a password.
  return value.length >= 6 && !/^[a-z]+$/.test(value);
}

/** The span of the match's last group, which ends the match, or of its first `length` characters. */
function groupSpan(match: RegExpExecArray, group: string, length = group.length): DetectedEntity {
  const start = match.index + match[0].length - group.length;
  return span('SECRET', start, start + length);
}

export function findSecrets(text: string): DetectedEntity[] {
  const found: DetectedEntity[] = [];
  if (text.includes('-----BEGIN')) {
    for (const m of matchAll(PRIVATE_KEY, text)) found.push(span('SECRET', m.index, m.index + m[0].length));
  }
  for (const pattern of KNOWN_FORMATS) {
    for (const m of matchAll(pattern, text)) {
      if (/[A-Za-z0-9_-]/.test(text[m.index - 1] ?? '')) continue;
      found.push(span('SECRET', m.index, m.index + m[0].length));
    }
  }
  for (const m of matchAll(KEYWORD_THEN_TOKEN, text)) {
    const token = m[1] ?? '';
    if (looksRandom(token)) found.push(groupSpan(m, token));
  }
  for (const m of matchAll(ASSIGNED_NAME, text)) {
    const value = m[2] ?? '';
    const secret = assignedSecret(m[1] ?? '', value);
    if (secret !== null) found.push(groupSpan(m, value, secret.length));
  }
  for (const m of matchAll(PASSWORD_VALUE, text)) {
    const written = m[1] ?? '';
    const value = withoutTrailingPunctuation(written);
    if (looksLikePassword(value)) found.push(groupSpan(m, written, value.length));
  }
  return found;
}
