/**
 * GGN passes the unit's attributes to the container as environment variables cut in chunks of
 * about 1950 bytes (`ATTR_0`, `ATTR_1`, ...), because systemd limits the length of a line.
 *
 * The rules, as observed on GGN: a chunk starts at every character whose byte offset is a
 * multiple of 1950 (a multiple that falls inside a multi-byte character gives no cut); when the
 * character at the cut or the one before it is one of  : . " , ' * = \  the cut moves back until
 * neither is, and the moved characters open the next chunk.
 * GGN moved back byte by byte and so could split a multi-byte character and corrupt it; we move
 * whole characters, which gives the same bytes in every case GGN got right.
 */
const CHUNK = 1950;
const FORBIDDEN = new Set([':', '.', '"', ',', "'", '*', '=', '\\']);

export function chunkAttributes(s: string): string[] {
  if (Buffer.byteLength(s, 'utf8') <= CHUNK) return [s];
  const chunks: string[] = [];
  let current: string[] = [];
  let offset = 0;
  for (const ch of s) {
    if (offset > 0 && offset % CHUNK === 0) {
      const carry: string[] = [];
      while (current.length > 0 && (FORBIDDEN.has(carry.length ? carry[0] : ch) || FORBIDDEN.has(current[current.length - 1]))) {
        carry.unshift(current.pop()!);
      }
      chunks.push(current.join(''));
      current = carry;
    }
    current.push(ch);
    offset += utf8Len(ch.codePointAt(0)!);
  }
  chunks.push(current.join(''));
  return chunks;
}

function utf8Len(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** `Environment='ATTR_0=...'\n...` and `${ATTR_0}${ATTR_1}...` for one prefix. */
export function environmentLines(s: string, prefix: string): { lines: string; vars: string } {
  const chunks = chunkAttributes(s);
  let lines = '';
  let vars = '';
  for (let i = 0; i < chunks.length; i++) {
    lines += `Environment='${prefix}${i}=${chunks[i]}'\n`;
    vars += `\${${prefix}${i}}`;
  }
  return { lines, vars };
}
