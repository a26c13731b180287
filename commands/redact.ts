/**
 * The last guard on everything ggn prints: every write to the output streams goes through
 * the secret registry's `redact` (src/secrets/registry.ts), so a secret's value (as is,
 * JSON-escaped, base64) never reaches a terminal, a CI log or a `--json` consumer, whatever
 * printed it: an error message, a -L debug stack, a hook's or systemctl's words.
 */
import { secretRegistry } from '../src/secrets/registry';

const GUARDED = Symbol('ggn.redact');

export function guardStreams(streams: NodeJS.WritableStream[]): void {
  for (const s of streams) {
    const g = s as NodeJS.WritableStream & { [GUARDED]?: true };
    if (g[GUARDED]) continue;
    g[GUARDED] = true;
    const write = s.write.bind(s) as (...args: unknown[]) => boolean;
    s.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (secretRegistry.size > 0) {
        if (typeof chunk === 'string') chunk = secretRegistry.redact(chunk);
        else if (chunk instanceof Uint8Array) chunk = secretRegistry.redact(Buffer.from(chunk).toString('utf8'));
      }
      return write(chunk, ...rest);
    }) as typeof s.write;
  }
}
