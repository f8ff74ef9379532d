/**
 * CPU time of the processes under test, from /proc: what the machine spent on each part of a
 * phase, all threads of a process together. On two cores a phase that keeps both busy gets its
 * throughput from this, whatever the latencies say.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Seconds of CPU used so far by each part under test; parts a mode does not run stay 0. */
export interface CpuReading {
  /** Engram's own processes (embedded: with the database's thread in them). */
  readonly engram: number;
  readonly chroma: number;
  /**
   * The Postgres server's backends serving the benchmark's database (distributed), by process id:
   * a backend that ends between two readings takes its time along, one that starts counts whole.
   */
  readonly postgresBackends: ReadonlyMap<number, number>;
  /** The benchmark's Redis (distributed). */
  readonly redis: number;
  /** This process: the clients that load and query Engram, on the same cores. */
  readonly bench: number;
}

/** The parts CPU is reported for, in the order they are shown. */
const PARTS = ['engram', 'chroma', 'postgres', 'redis', 'bench'] as const;

/** CPU milliseconds per unit of work between two readings, by part. */
export type CpuMsPer = Readonly<Record<(typeof PARTS)[number], number>>;

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const TICKS_PER_SECOND = clockTicksPerSecond();

/** Seconds of CPU (user and system, every thread) that a process has used; 0 when it cannot be read (pid 0 for none). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted from its closing one.
    // utime and stime are the 14th and 15th fields of the line, the 12th and 13th after the name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** This process's CPU seconds. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** CPU ms per unit of work between two readings (`units` searches, say). */
export function cpuMsPer(before: CpuReading, after: CpuReading, units: number): CpuMsPer {
  const per = (seconds: number): number => (units > 0 ? (seconds * 1000) / units : Number.NaN);
  let postgres = 0;
  for (const [pid, seconds] of after.postgresBackends) postgres += seconds - (before.postgresBackends.get(pid) ?? 0);
  return {
    engram: per(after.engram - before.engram),
    chroma: per(after.chroma - before.chroma),
    postgres: per(postgres),
    redis: per(after.redis - before.redis),
    bench: per(after.bench - before.bench),
  };
}

/** `8.1 = 5.2 engram + 1.9 chroma + 1.0 bench`: the parts that used any, the bench last. */
export function formatCpuMs(cpu: CpuMsPer): string {
  const total = PARTS.reduce((sum, part) => sum + (Number.isFinite(cpu[part]) ? cpu[part] : 0), 0);
  const used = PARTS.filter((part) => cpu[part] >= 0.05);
  return `${total.toFixed(1)} = ${used.map((part) => `${cpu[part].toFixed(1)} ${part}`).join(' + ')}`;
}
