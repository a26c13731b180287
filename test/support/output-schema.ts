/** Validates real `--json` output against schemas/output.schema.json (Ajv, at test time only). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import Ajv from 'ajv';
import { ROOT } from './cli';

let ajv: Ajv | undefined;

export type OutputKind = 'diff' | 'check' | 'listUnits' | 'history' | 'validate' | 'rolloutLine' | 'unitAction';

export function assertOutput(kind: OutputKind, value: unknown): void {
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: false });
    ajv.addSchema(JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas/output.schema.json'), 'utf8')));
  }
  const validate = ajv.getSchema(`https://ggn.dev/schemas/output.schema.json#/definitions/${kind}`)!;
  assert.ok(
    validate(value),
    `${kind} output does not match schemas/output.schema.json: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(value).slice(0, 2000)}`,
  );
}

/** Every line of an NDJSON stream (update/rollback/prune --json). */
export function assertRolloutLines(stdout: string): unknown[] {
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
  for (const l of lines) assertOutput('rolloutLine', l);
  return lines;
}
