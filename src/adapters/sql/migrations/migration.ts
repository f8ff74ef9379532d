/** One step of the schema. Applied once, in version order, inside the migration transaction. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Run one by one: PGlite's parameterised protocol takes a single statement at a time. */
  readonly statements: readonly string[];
}
