/**
 * Scores the PII redactor on the labelled development set (shared/data/pii): precision and recall
 * per entity type with every type detected, overall precision, and speed on one core.
 *
 *   npm run eval:pii [-- --data FILE] [-- --json OUT]
 *
 * A predicted span is correct when it overlaps a labelled span of a type it maps to; a labelled
 * span is found when a predicted span of its type overlaps it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PII_ENTITY_TYPES, type PiiEntityType } from '../src/domain/pii.js';
import { createRedactor, detect } from '../src/adapters/redaction/index.js';

interface LabelledSpan {
  entity_type: string;
  entity_value: string;
  start_position: number;
  end_position: number;
}
interface LabelledDocument {
  full_text: string;
  spans: LabelledSpan[];
}

/** Dataset labels that name a type the redactor targets. */
const LABEL_TO_TYPE: Readonly<Record<string, PiiEntityType>> = {
  EMAIL_ADDRESS: 'EMAIL',
  PHONE_NUMBER: 'PHONE',
  CREDIT_CARD: 'CREDIT_CARD',
  US_SSN: 'SSN',
  IBAN_CODE: 'IBAN',
  IP_ADDRESS: 'IP_ADDRESS',
  PERSON: 'PERSON',
  ADDRESS: 'ADDRESS',
};
/** Labels that are context for most users, not identifiers: scored neither way. */
const CONTEXT_LABELS = ['LOCATION (unless street-like)', 'ORGANIZATION', 'DATE_TIME', 'TITLE', 'PREFIX', 'DOMAIN_NAME', 'US_DRIVER_LICENSE'];
// A LOCATION label with a house number or a street word is part of a street address.
const STREET_LIKE = /\d|\b(?:street|st|road|rd|avenue|ave|lane|boulevard|blvd|drive|way|court)\b|(?:straße|strasse|weg|gasse|vej|gata|gatan|straat|laan)\b/i;

function targetType(label: LabelledSpan): PiiEntityType | undefined {
  if (label.entity_type === 'LOCATION') return STREET_LIKE.test(label.entity_value) ? 'ADDRESS' : undefined;
  return LABEL_TO_TYPE[label.entity_type];
}

interface TypeScore {
  labelled: number;
  found: number;
  predicted: number;
  correct: number;
}

const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }): boolean =>
  a.start < b.end && b.start < a.end;

function score(documents: readonly LabelledDocument[]): Record<PiiEntityType, TypeScore> {
  const scores = Object.fromEntries(
    PII_ENTITY_TYPES.map((type) => [type, { labelled: 0, found: 0, predicted: 0, correct: 0 }]),
  ) as Record<PiiEntityType, TypeScore>;
  for (const document of documents) {
    const predicted = detect(document.full_text);
    const labels = document.spans.flatMap((label) => {
      const type = targetType(label);
      return type === undefined ? [] : [{ type, start: label.start_position, end: label.end_position }];
    });
    for (const label of labels) {
      const s = scores[label.type];
      s.labelled += 1;
      if (predicted.some((p) => p.type === label.type && overlaps(p, label))) s.found += 1;
    }
    for (const p of predicted) {
      const s = scores[p.type];
      s.predicted += 1;
      if (labels.some((label) => label.type === p.type && overlaps(p, label))) s.correct += 1;
    }
  }
  return scores;
}

function timeOneCore(texts: readonly string[]): { documentsPerSecond: number; microsecondsPerDocument: number } {
  const redactor = createRedactor({ entities: PII_ENTITY_TYPES });
  for (const text of texts) redactor.redact(text);
  let documents = 0;
  const started = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 3 || documents < texts.length) {
    for (const text of texts) redactor.redact(text);
    documents += texts.length;
    elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  }
  return { documentsPerSecond: documents / elapsed, microsecondsPerDocument: (elapsed * 1e6) / documents };
}

const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d);
const show = (value: number | null): string => (value === null ? '   -' : value.toFixed(3));

function main(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: resolve(here, '../../shared/data/pii/presidio-generated-large.json') },
      json: { type: 'string' },
    },
  });
  const dataPath = values.data ?? '';
  const documents = JSON.parse(readFileSync(dataPath, 'utf8')) as LabelledDocument[];
  const scores = score(documents);
  const speed = timeOneCore(documents.map((d) => d.full_text));

  const rows = PII_ENTITY_TYPES.map((type) => {
    const s = scores[type];
    return { type, ...s, precision: ratio(s.correct, s.predicted), recall: ratio(s.found, s.labelled) };
  });
  const predicted = rows.reduce((n, r) => n + r.predicted, 0);
  const correct = rows.reduce((n, r) => n + r.correct, 0);
  const report = {
    data: dataPath,
    documents: documents.length,
    types: rows,
    overallPrecision: ratio(correct, predicted),
    contextLabelsNotScored: CONTEXT_LABELS,
    ...speed,
  };

  console.log(`PII redactor on ${documents.length} documents (${dataPath})`);
  console.log('type          labelled  found  recall  predicted  correct  precision');
  for (const r of rows) {
    console.log(
      `${r.type.padEnd(13)} ${String(r.labelled).padStart(8)} ${String(r.found).padStart(6)}  ${show(r.recall)}  ${String(r.predicted).padStart(9)} ${String(r.correct).padStart(8)}  ${show(r.precision)}`,
    );
  }
  console.log(`overall precision ${show(report.overallPrecision)}`);
  console.log(`context, not targets (not scored): ${CONTEXT_LABELS.join(', ')}`);
  console.log(
    `speed on one core: ${Math.round(speed.documentsPerSecond)} documents/s, ${speed.microsecondsPerDocument.toFixed(1)} µs per document`,
  );
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
}

main();
