/** What a supervisor tells about something it starts again, to be counted (as metrics do). */
export interface RestartCounts {
  /** It stopped by itself; it is started again after a wait. */
  stopped(): void;
  /** A start after a stop failed; another is tried later. */
  startFailed(): void;
}
