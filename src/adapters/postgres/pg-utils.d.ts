// node-postgres's own conversion of a parameter to its wire text (dates, arrays, buffers, JSON),
// exported by the package as `pg/lib/utils.js` but not typed by @types/pg.
declare module 'pg/lib/utils.js' {
  export function prepareValue(value: unknown): string | Buffer | null | undefined;
}
