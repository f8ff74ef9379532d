import { readdirSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * The nice value of work that nobody waits on, such as writes' embeddings. On two cores it ran
 * beside the thread serving HTTP and delayed its answers; at nice 10 the kernel gives such a
 * thread about a tenth of a core while a thread at nice 0 wants it, and all of it when nothing
 * else runs, so the work still goes as fast on an idle machine.
 */
export const BACKGROUND_NICENESS = 10;

/**
 * Lowers the calling thread's priority to `niceness` (never raises it). Linux gives every thread
 * a nice value of its own, so this leaves the process's other threads alone; elsewhere a nice
 * value belongs to the whole process, and nothing is changed. True when the thread now runs at
 * `niceness` or below (a higher nice value).
 */
export function lowerThisThreadPriority(niceness: number): boolean {
  if (process.platform !== 'linux') return false;
  let tid: number;
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>" of whichever thread reads it.
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return false;
  }
  return lower(tid, niceness);
}

/**
 * Lowers every thread of process `pid` to `niceness` (never raises one). Threads it starts later
 * inherit the value of the thread that starts them. True when all of them now run at `niceness`
 * or below.
 */
export function lowerProcessPriority(pid: number, niceness: number): boolean {
  if (process.platform !== 'linux') return lower(pid, niceness);
  // A thread started during a pass by one not yet lowered is found by the next.
  for (let pass = 0; pass < 3; pass += 1) {
    const threads = threadsOf(pid);
    if (threads.length === 0) return false;
    const raised = threads.filter((tid) => niceOf(tid) < niceness);
    if (raised.length === 0) return true;
    for (const tid of raised) lower(tid, niceness);
  }
  return threadsOf(pid).every((tid) => niceOf(tid) >= niceness);
}

function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

/** A thread's nice value; +Infinity once it has ended, so that it never counts as raised. */
function niceOf(id: number): number {
  try {
    return getPriority(id);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function lower(id: number, niceness: number): boolean {
  try {
    if (niceOf(id) < niceness) setPriority(id, niceness);
    return true;
  } catch {
    // The thread has ended, or the system refuses: the work still runs, at its old priority.
    return false;
  }
}
