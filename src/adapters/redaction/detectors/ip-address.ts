/**
 * IP addresses. IPv4: four dot-separated decimal octets, each at most 255, not part of a longer
 * dotted number and not introduced as a version ("v1.2.3.4", "version 1.2.3.4"). IPv6: runs of hex
 * groups and colons, optionally ending in an IPv4 part, that `node:net` accepts as IPv6 and that
 * hold at least one hex digit group besides `::` (so times like 12:30:45 never pass).
 */
import { isIP } from 'node:net';
import type { DetectedEntity } from '../../../domain/pii.js';
import { contextBefore } from '../context.js';
import { matchAll, span } from '../span.js';

const IPV4 = /(?<![\p{L}\p{N}_.]|\d\.)(?:\d{1,3}\.){3}\d{1,3}(?![\p{L}\p{N}_]|\.\d)/gu;
const IPV6 = /(?<![\p{L}\p{N}_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\p{L}\p{N}_:])/gu;
const VERSION = /(?:\bv|\bversion\s*|\bver\.?\s*|\brelease\s*)$/i;

export function findIpAddresses(text: string): DetectedEntity[] {
  const v4 = matchAll(IPV4, text, (m) => isIP(m[0]) === 4 && !contextBefore(text, m.index, VERSION, 12));
  const v6 = text.includes(':')
    ? matchAll(IPV6, text, (m) => m[0].replace(/:/g, '').length >= 4 && isIP(m[0]) === 6)
    : [];
  return [...v4, ...v6].map((m) => span('IP_ADDRESS', m.index, m.index + m[0].length));
}
