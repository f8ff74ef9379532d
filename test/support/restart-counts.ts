import type { RestartCounts } from '../../src/ports/restart-counts.js';

/** What a supervisor told of its stops and failed starts, as numbers a test reads back. */
export interface CountedRestarts {
  readonly counted: { stopped: number; startFailed: number };
  readonly counts: RestartCounts;
}

export function countedRestarts(): CountedRestarts {
  const counted = { stopped: 0, startFailed: 0 };
  return {
    counted,
    counts: {
      stopped: () => void counted.stopped++,
      startFailed: () => void counted.startFailed++,
    },
  };
}
