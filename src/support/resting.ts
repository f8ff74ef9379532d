import { setTimeout as sleep } from 'node:timers/promises';

/**
 * `work`, resting after each call it answers for `restPerBusy` times as long as the call took,
 * before handing the answer back: a background job that calls it in a loop then leaves the server
 * it talks to free for the others who share it for that share of the time. A call that fails
 * answers at once.
 */
export function resting<Args extends unknown[], Answer>(
  work: (...args: Args) => Promise<Answer>,
  restPerBusy: number,
): (...args: Args) => Promise<Answer> {
  return async (...args) => {
    const began = performance.now();
    const answer = await work(...args);
    const rest = (performance.now() - began) * restPerBusy;
    if (rest > 0) await sleep(rest);
    return answer;
  };
}
