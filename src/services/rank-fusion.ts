/** One ranking to fuse: ids best first, and how much a place in it counts. */
export interface Ranking {
  readonly ids: readonly string[];
  /** Relative weight of this ranking; 0 ignores it. */
  readonly weight: number;
}

export interface FusedRank {
  readonly id: string;
  /**
   * Weighted reciprocal-rank score normalised to [0, 1]: 1 for an id ranked first by every
   * ranking, 0 for one no ranking holds.
   */
  readonly score: number;
}

/**
 * Weighted reciprocal-rank fusion (Cormack et al., 2009): an id scores Σ weight / (k + rank) over
 * the rankings that hold it. Only ranks count, so scores that live on different scales (cosine,
 * BM25) need no calibration; a larger `k` flattens the advantage of the very first places.
 * Ties keep the order of first appearance, the first ranking's first.
 */
export function fuseRankings(rankings: readonly Ranking[], k: number): FusedRank[] {
  const best = rankings.reduce((sum, ranking) => sum + ranking.weight / (k + 1), 0);
  const scores = new Map<string, number>();
  for (const ranking of rankings) {
    ranking.ids.forEach((id, index) => {
      scores.set(id, (scores.get(id) ?? 0) + ranking.weight / (k + index + 1));
    });
  }
  return [...scores]
    .map(([id, score]) => ({ id, score: best > 0 ? score / best : 0 }))
    .sort((a, b) => b.score - a.score);
}
