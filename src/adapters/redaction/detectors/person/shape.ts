/**
 * How much a word no list knows looks like a name by its spelling alone. Surname endings carry
 * most of it, since every name dictionary misses most surnames of most cultures while the endings
 * repeat: Scandinavian -sen/-son/-dóttir, Slavic -ski/-ova/-ić/-enko, Armenian -ian, Romanian
 * -escu, Georgian -shvili, Finnish -nen, Greek -opoulos, Turkish -oğlu, and so on. Letters outside
 * English spelling add a little, and so does the consonant-vowel pattern of romanised Japanese.
 * Brand-like endings and inner capitals take some away.
 */

// Endings common in surnames and rare in English words, brand names and place names.
const SURNAME_ENDING =
  /(?:sen|son|dottir|dóttir|ski|ska|sky|skiy|cki|cka|wicz|czyk|czak|iak|ova|ová|ovna|evna|ov|ev|yev|ić|ič|ovic|evic|vich|enko|chuk|yuk|ian|yan|escu|eanu|shvili|adze|idze|nen|opoulos|poulos|akis|idis|oglu|oğlu|ez|ães|inho|ucci|elli|etti|berg|ström|strom|qvist|kvist|lund|gaard|gård|heim|mann|stein|baum|ský|ská|ný|ná|zadeh|ullah|uddin|aitis|ienė|aitė|ytė|ūtė)$/u;
const ROMANISED_JAPANESE = /^(?:(?:[kgsztdnhbpmyrw]|sh|ch|ts|j|f)?[aiueo]|n(?![aiueoy])){3,}$/u;
const NON_ENGLISH_LETTER = /[^\p{ASCII}]/u;
// Endings and inner capitals of product and company names: "Spotify", "Bitly", "YouTube".
const BRAND_ENDING = /(?:ify|hub|soft|tech|bank|book|pay|box|bot|net|ware|labs?|base|flow|gram|zon|ics)$/u;
const INNER_CAPITAL = /^(?!(?:Mc|Mac|De|Di|Da|La|Le|Du|Van|Von|O['’]))\p{Lu}\p{Ll}+\p{Lu}/u;
const NAME_PREFIX = /^(?:o['’]|d['’]|mc|mac|fitz|al-|el-|ben-|abu-)\p{L}/u;

/** A weight between -0.75 and 1.5 for a word as written. */
export function nameShape(word: string): number {
  const lower = word.toLowerCase();
  if (BRAND_ENDING.test(lower) || INNER_CAPITAL.test(word)) return -0.75;
  let weight = 0;
  if (lower.length >= 4 && SURNAME_ENDING.test(lower)) weight += 1;
  else if (lower.length >= 4 && ROMANISED_JAPANESE.test(lower)) weight += 0.75;
  if (NAME_PREFIX.test(lower)) weight += 1;
  if (NON_ENGLISH_LETTER.test(lower)) weight += 0.5;
  return Math.min(weight, 1.5);
}
