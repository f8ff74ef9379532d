import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_QUERY_WORDS, queryWords } from '../../../src/services/query-words.js';
import { fuseRankings } from '../../../src/services/rank-fusion.js';

describe('rank fusion', () => {
  it('ranks a memory found by both rankings above one found by a single ranking', () => {
    const fused = fuseRankings(
      [
        { ids: ['only-meaning', 'both'], weight: 1 },
        { ids: ['only-words', 'both'], weight: 1 },
      ],
      10,
    );
    assert.equal(fused[0]?.id, 'both');
  });

  it('scores 1 for first place in every ranking, and within [0, 1] otherwise', () => {
    const fused = fuseRankings(
      [
        { ids: ['a', 'b', 'c'], weight: 0.5 },
        { ids: ['a', 'c'], weight: 1 },
      ],
      10,
    );
    assert.equal(fused[0]?.id, 'a');
    assert.equal(fused[0]?.score, 1);
    assert.ok(fused.every((rank) => rank.score > 0 && rank.score <= 1));
    assert.deepEqual(fused.map((rank) => rank.score), fused.map((rank) => rank.score).sort((x, y) => y - x));
  });

  it('lets the heavier ranking decide between two single-ranking memories', () => {
    const fused = fuseRankings(
      [
        { ids: ['meaning'], weight: 0.5 },
        { ids: ['words'], weight: 1 },
      ],
      10,
    );
    assert.deepEqual(fused.map((rank) => rank.id), ['words', 'meaning']);
  });
});

describe('query words', () => {
  it('keeps content words once in any case, as first written, without possessives or question frames', () => {
    assert.deepEqual(queryWords("What KIND of pottery did Caroline's sister make? Pottery!"), ['What', 'of', 'pottery', 'did', 'Caroline', 'sister', 'make']);
    assert.deepEqual(queryWords('   ?!  '), []);
  });

  it('keeps the first words of a long query, up to its bound', () => {
    const words = Array.from({ length: 300 }, (_, index) => `word${index}`);
    assert.deepEqual(queryWords(words.join(' ')), words.slice(0, MAX_QUERY_WORDS));
  });

  it('keeps the combining marks of a word, as the store does', () => {
    assert.deepEqual(queryWords('राहुल कहाँ रहता है?'), ['राहुल', 'कहाँ', 'रहता', 'है']);
    assert.deepEqual(queryWords('مُحَمَّد'), ['مُحَمَّد']);
  });
});
