/**
 * Reads the answer of a pipeline of extended-protocol statements straight from PostgreSQL's
 * backend messages. PGlite's own parser copies every field into a fresh buffer before decoding it
 * and builds an object per message; a search's few hundred fields cost more to parse that way than
 * the statements cost to run.
 */

/** Turns a field's text into its JavaScript value, as PGlite's type parsers do. */
export type FieldParser = (text: string, typeId: number) => unknown;

/** An error PostgreSQL reported, with the fields node-postgres and PGlite give theirs. */
export class BackendError extends Error {
  severity?: string;
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
  internalPosition?: string;
  internalQuery?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  dataType?: string;
  constraint?: string;
  file?: string;
  line?: string;
  routine?: string;
}

const ERROR_FIELDS: Readonly<Record<string, Exclude<keyof BackendError, 'message' | 'name' | 'stack' | 'cause'>>> = {
  V: 'severity',
  C: 'code',
  D: 'detail',
  H: 'hint',
  P: 'position',
  p: 'internalPosition',
  q: 'internalQuery',
  W: 'where',
  s: 'schema',
  t: 'table',
  c: 'column',
  d: 'dataType',
  n: 'constraint',
  F: 'file',
  L: 'line',
  R: 'routine',
};

const ROW_DESCRIPTION = 0x54; // 'T'
const DATA_ROW = 0x44; // 'D'
const COMMAND_COMPLETE = 0x43; // 'C'
const ERROR_RESPONSE = 0x45; // 'E'

interface Field {
  readonly name: string;
  readonly typeId: number;
}

const utf8 = new TextDecoder();

/**
 * Reads backend messages as they arrive, in pieces that may end anywhere, and hands over each
 * statement's rows once its CommandComplete is in: the first statements of a pipeline are known
 * before the last has run. `push` throws the first error PostgreSQL reported: after it, the
 * server skipped the rest up to the Sync.
 */
export class StatementResults {
  #unread: Uint8Array = new Uint8Array(0);
  #fields: Field[] = [];
  #rows: Record<string, unknown>[] = [];
  #completed = 0;

  constructor(
    private readonly parsers: Readonly<Record<number, FieldParser | undefined>>,
    private readonly onCompleted: (index: number, rows: Record<string, unknown>[]) => void,
  ) {}

  push(chunk: Uint8Array): void {
    const data = this.#unread.length === 0 ? chunk : Buffer.concat([this.#unread, chunk]);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    while (at + 5 <= data.length) {
      const end = at + 1 + view.getUint32(at + 1);
      if (end > data.length) break;
      this.#read(data, view, at, end);
      at = end;
    }
    // A piece may end inside a message: the rest of it comes with the next piece.
    this.#unread = at === data.length ? new Uint8Array(0) : data.slice(at);
  }

  #read(data: Uint8Array, view: DataView, at: number, end: number): void {
    const type = data[at];
    const body = at + 5;
    if (type === ROW_DESCRIPTION) this.#fields = readFields(data, view, body);
    else if (type === DATA_ROW) this.#rows.push(readRow(data, view, body, this.#fields, this.parsers));
    else if (type === COMMAND_COMPLETE) {
      const rows = this.#rows;
      this.#rows = [];
      this.#fields = [];
      this.onCompleted(this.#completed++, rows);
    } else if (type === ERROR_RESPONSE) throw readError(data, body, end);
  }
}

function cstringEnd(data: Uint8Array, from: number): number {
  const end = data.indexOf(0, from);
  return end === -1 ? data.length : end;
}

function readFields(data: Uint8Array, view: DataView, body: number): Field[] {
  const count = view.getUint16(body);
  const fields: Field[] = [];
  let at = body + 2;
  for (let index = 0; index < count; index += 1) {
    const nameEnd = cstringEnd(data, at);
    const name = utf8.decode(data.subarray(at, nameEnd));
    // After the name: table oid (4), column number (2), type oid (4), size (2), modifier (4), format (2).
    const typeId = view.getUint32(nameEnd + 1 + 6);
    fields.push({ name, typeId });
    at = nameEnd + 1 + 18;
  }
  return fields;
}

function readRow(
  data: Uint8Array,
  view: DataView,
  body: number,
  fields: readonly Field[],
  parsers: Readonly<Record<number, FieldParser | undefined>>,
): Record<string, unknown> {
  const count = view.getUint16(body);
  const row: Record<string, unknown> = {};
  let at = body + 2;
  for (let index = 0; index < count; index += 1) {
    const length = view.getInt32(at);
    at += 4;
    const field = fields[index];
    const name = field?.name ?? String(index);
    if (length < 0) {
      row[name] = null;
      continue;
    }
    const text = utf8.decode(data.subarray(at, at + length));
    at += length;
    const parser = field === undefined ? undefined : parsers[field.typeId];
    row[name] = parser === undefined || field === undefined ? text : parser(text, field.typeId);
  }
  return row;
}

function readError(data: Uint8Array, body: number, end: number): BackendError {
  const values = new Map<string, string>();
  for (let at = body; at < end && data[at] !== 0; ) {
    const code = String.fromCharCode(data[at] ?? 0);
    const valueEnd = cstringEnd(data, at + 1);
    values.set(code, utf8.decode(data.subarray(at + 1, valueEnd)));
    at = valueEnd + 1;
  }
  const error = new BackendError(values.get('M') ?? 'the database reported an error');
  for (const [code, value] of values) {
    const key = ERROR_FIELDS[code];
    if (key !== undefined) error[key] = value;
  }
  error.severity ??= values.get('S');
  return error;
}
