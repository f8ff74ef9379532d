/**
 * Person names, in any culture's spelling and any case. A full NLP parse of every memory would
 * cost more than the rest of the redactor together, so the detector reads the text as a sequence
 * of words instead:
 * - runs.ts marks runs of words that could form a name ("Anna", "J. Smith", "van der Berg",
 *   "jared paavolainen" in a text written all in lower case);
 * - evidence.ts weighs each run: name dictionaries, surname endings, position in the sentence,
 *   and context such as "my sister", "said", "starring", "Ltd" or "Street";
 * - lists.ts lets the members of a list of names vouch for each other.
 */
import type { DetectedEntity } from '../../../domain/pii.js';
import { span } from '../span.js';
import { weigh } from './person/evidence.js';
import { acceptWithLists } from './person/lists.js';
import { findRuns } from './person/runs.js';
import { tokenize } from './person/tokens.js';

export function findPersons(text: string): DetectedEntity[] {
  if (!/\p{L}/u.test(text)) return [];
  const runs = findRuns(text, tokenize(text));
  const weighed = runs.map((run) => ({ run, verdict: weigh(text, run) }));
  return acceptWithLists(text, weighed).map((run) => {
    const first = run.honorific ?? run.tokens[0];
    const last = run.tokens[run.tokens.length - 1];
    return span('PERSON', first?.start ?? 0, last?.end ?? 0);
  });
}
