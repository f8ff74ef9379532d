/**
 * What separates words in a text searched by words: anything but a letter, its combining marks
 * (the vowel signs of Devanagari, Thai or Arabic) or a digit, as the store's parser reads them.
 */
export const BETWEEN_WORDS = /[^\p{L}\p{M}\p{N}]+/u;
