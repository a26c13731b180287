/**
 * Text that came from someone else (a lock message, an audit field, a remote error) is printed
 * to operators' terminals: control characters are shown escaped, never sent to the terminal.
 */
// C0 controls but tab, DEL, C1 controls, and the bidi overrides that can hide text.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

export function printable(s: string): string {
  return s.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
