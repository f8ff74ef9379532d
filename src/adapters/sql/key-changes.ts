/**
 * What a process hears of changes to the keys table that other processes make: the source that
 * lets a shared database's keys be remembered (see RememberedApiKeys).
 */
export interface KeyChanges {
  /**
   * True while every change committed from now on will be told; until then nothing may be
   * remembered. The first call starts listening.
   */
  listening(): boolean;
  /**
   * Grows with every change told and every time listening stops or starts: a read during which it
   * moved may have missed a change, and is not remembered.
   */
  readonly epoch: number;
  /** `forget` gets the id of a changed key, or null when any key may have changed unheard. */
  onChange(forget: (keyId: string | null) => void): void;
  close(): Promise<void>;
}
