/** Marks a word's start in the vocabulary's pieces (SentencePiece's "▁"). */
const WORD_START = '\u2581';
/** The first ids are control symbols that never match text. */
const RESERVED_IDS = 6;
/** Id of the unknown piece; runs of it collapse to one. */
const UNKNOWN_ID = 0;

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  /** Set when a vocabulary piece ends at this node. */
  piece?: { readonly id: number; readonly score: number };
}

/**
 * The word-piece tokeniser of Universal Sentence Encoder Lite: a unigram SentencePiece model
 * decoded by Viterbi over a trie of the vocabulary. It gives the same ids as the tokeniser bundled
 * with the model, quirks included (ties go to the later start, an unmatched character becomes the
 * unknown piece with score 0, the backtrack steps by each piece's UTF-16 length), in time linear in
 * the text's length times the longest piece rather than quadratic.
 */
export class SentencePieceTokeniser {
  private readonly root: TrieNode = { children: new Map() };
  /** UTF-16 length of each piece, used to step back through the best path. */
  private readonly pieceLengths: Int32Array;

  constructor(vocabulary: readonly (readonly [string, number])[]) {
    this.pieceLengths = Int32Array.from(vocabulary, ([piece]) => piece.length);
    for (let id = RESERVED_IDS; id < vocabulary.length; id++) {
      const entry = vocabulary[id];
      if (entry !== undefined) this.insert(entry[0], entry[1], id);
    }
  }

  encode(text: string): number[] {
    const symbols = Array.from(prepare(text));
    const count = symbols.length;
    const best = new Float64Array(count + 1);
    const bestId = new Int32Array(count + 1);
    const relax = (start: number, end: number, score: number, id: number): void => {
      const total = score + (best[start] ?? 0);
      if (best[end] === 0 || total >= (best[end] ?? 0)) {
        best[end] = total;
        bestId[end] = id;
      }
    };

    for (let start = 0; start < count; start++) {
      let node = this.root.children.get(symbols[start] ?? '');
      let matched = false;
      for (let end = start + 1; node !== undefined; end++) {
        if (node.piece !== undefined) {
          relax(start, end, node.piece.score, node.piece.id);
          matched = true;
        }
        node = end < count ? node.children.get(symbols[end] ?? '') : undefined;
      }
      if (!matched) relax(start, start + 1, 0, UNKNOWN_ID);
    }

    const reversed: number[] = [];
    for (let position = count; position > 0; ) {
      const id = bestId[position] ?? UNKNOWN_ID;
      reversed.push(id);
      position -= this.pieceLengths[id] ?? 1;
    }
    const ids: number[] = [];
    let previousUnknown = false;
    for (const id of reversed) {
      if (!(previousUnknown && id === UNKNOWN_ID)) ids.push(id);
      previousUnknown = id === UNKNOWN_ID;
    }
    return ids.reverse();
  }

  private insert(piece: string, score: number, id: number): void {
    let node = this.root;
    for (const symbol of piece) {
      let child = node.children.get(symbol);
      if (child === undefined) {
        child = { children: new Map() };
        node.children.set(symbol, child);
      }
      node = child;
    }
    if (node !== this.root) node.piece = { id, score };
  }
}

/** NFKC, then a word-start mark before the text and in place of every space. */
function prepare(text: string): string {
  const normalised = text.normalize('NFKC');
  return normalised.length > 0 ? WORD_START + normalised.replaceAll(' ', WORD_START) : normalised;
}
