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
 * The content words of a query for the lexical leg, lowercased, in order, without repeats.
 * Possessives lose their "'s" so that "Ana's" matches "Ana"; stemming is the store's. A word keeps
 * its combining marks, as the store's parser does: the vowel signs of Devanagari, Thai or Arabic.
 */
export function queryWords(query: string): string[] {
  const words = query
    .normalize('NFKC')
    .toLowerCase()
    .replace(/['’]s\b/gu, '')
    .split(/[^\p{L}\p{M}\p{N}]+/u)
    .filter((word) => word !== '' && !QUESTION_FRAME.has(word));
  return [...new Set(words)];
}
