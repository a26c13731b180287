/**
 * The JSON vocabulary shared by every command's `--json` (schemas/output.schema.json): a unit on
 * a machine is `{unit, service, host, kind, state}`, with `kind` the diff's verdict (new, changed,
 * unchanged, orphan) and `state` systemd's `{load, active, sub}` (null: not loaded); an error or a
 * warning is `{message, file?, line?, col?, env?, service?, unit?, host?}`.
 */
import type { UnitState } from '../drivers/types';
import type { GgnError } from '../errors';
import type { UnitChange } from '../plan/diff';

export interface StateJson {
  load: string;
  active: string;
  sub: string;
}

export const stateJson = (s: UnitState | undefined): StateJson | null => (s ? { load: s.loadState, active: s.activeState, sub: s.subState } : null);

export function unitJson(c: UnitChange): { unit: string; service: string; host: string; kind: UnitChange['kind']; state: StateJson | null } {
  return { unit: c.unit, service: c.service, host: c.machine, kind: c.kind, state: stateJson(c.state) };
}

export function problemJson(e: GgnError): Record<string, unknown> {
  const out: Record<string, unknown> = { message: e.message };
  for (const [k, v] of Object.entries(e.ctx)) if (v !== undefined) out[k] = v;
  return out;
}
