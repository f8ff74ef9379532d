/**
 * Makes a text safe to embed. An empty text becomes a single space: the bundled model drops the
 * row of a text that tokenises to nothing (or fails when it is alone), and remote services reject
 * an empty input. A text longer than `maxChars` UTF-16 code units is cut, on a word boundary when
 * one is near, because models bound their input and tokenising costs grow with length.
 */
export function prepareText(text: string, maxChars: number): string {
  if (text.length === 0) return ' ';
  if (text.length <= maxChars) return text;
  let end = maxChars;
  // never leave the lone first half of a surrogate pair at the end
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  const space = text.lastIndexOf(' ', end);
  if (space > end - 64 && space > 0) end = space;
  return text.slice(0, end);
}
