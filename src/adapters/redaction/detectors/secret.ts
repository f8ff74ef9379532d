/**
 * Secrets: credentials that grant access on their own. Three sources, strongest first:
 * - PEM private key blocks, from the BEGIN line to the matching END line (or the end of the text
 *   when the block was cut off);
 * - well-known key formats whose prefix names the issuer (JWTs, OpenAI `sk-`, Stripe `sk_live_`,
 *   AWS `AKIA`, GitHub `ghp_`/`github_pat_`, Slack `xox?-`, Google `AIza`, GitLab, npm, Hugging
 *   Face, SendGrid), each with the length and alphabet its issuer uses;
 * - a long high-entropy token (mixed letters and digits, ≥ 3 bits of entropy per character) within
 *   a few words after a word like key, token, secret or password, and any non-dictionary-looking
 *   value written right after "password is" / "password:".
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

function looksLikePassword(value: string): boolean {
  const trimmed = value.replace(/[.,;!?)]+$/, '');
  // "password is incorrect" and similar: a plain lowercase word is prose, not a password.
  return trimmed.length >= 6 && !/^[a-z]+$/.test(trimmed);
}

function groupSpan(match: RegExpExecArray, group: string): DetectedEntity {
  const start = match.index + match[0].length - group.length;
  return span('SECRET', start, start + group.length);
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
  for (const m of matchAll(PASSWORD_VALUE, text)) {
    const value = (m[1] ?? '').replace(/[.,;!?)]+$/, '');
    if (looksLikePassword(value)) {
      const start = m.index + m[0].length - (m[1] ?? '').length;
      found.push(span('SECRET', start, start + value.length));
    }
  }
  return found;
}
