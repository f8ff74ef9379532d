import { BETWEEN_WORDS } from '../domain/words.js';

/**
 * Words of a question that say nothing about which memory answers it. The store's own stopword
 * list drops the grammar (what, did, the …); these are the frames of questions that the lexical
 * leg would otherwise reward in any memory that happens to contain them.
 */
const QUESTION_FRAME = new Set([
  'anything', 'something', 'thing', 'things', 'kind', 'sort', 'type', 'likely', 'would', 'could',
  'might', 'ever', 'also', 'else', 'much', 'many', 'please', 'tell', 'remember', 'recall', 'know',
]);

/**
 * Most words a query is searched by: the word statement counts how many memories hold each one, so
 * a query of thousands of characters would cost hundreds of counts. Questions hold far fewer.
 */
export const MAX_QUERY_WORDS = 64;

/**
 * The first MAX_QUERY_WORDS content words of a query for the lexical leg, in order, without
 * repeats (in any case). Possessives lose their "'s" so that "Ana's" matches "Ana"; stemming is
 * the store's. A word keeps its combining marks, as the store's parser does: the vowel signs of
 * Devanagari, Thai or Arabic. Its case is left to the store too, which lowercases the query as it
 * did the stored text: a database of the C locale lowercases ASCII only, and there "Москва" is
 * found as it was written.
 */
export function queryWords(query: string): string[] {
  const words = new Map<string, string>();
  for (const word of query
    .normalize('NFKC')
    .replace(/['’][sS]\b/gu, '')
    .split(BETWEEN_WORDS)) {
    const folded = word.toLowerCase();
    if (word !== '' && !QUESTION_FRAME.has(folded) && !words.has(folded)) words.set(folded, word);
    if (words.size === MAX_QUERY_WORDS) break;
  }
  return [...words.values()];
}
