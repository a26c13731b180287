/**
 * GGN (dgr's CleanupOfTemplate) rewrites every template line by line before Go parses it:
 * trailing spaces go, a line whose first non-space text is `{{-` loses its indentation and the
 * dash (so it trims nothing), a line ending in `-}}` is joined to the next one, and lines are
 * joined with "\n" with no final newline. Tabs are not spaces here.
 */
export function ggnCleanupTemplate(content: string): string {
  const lines: string[] = [];
  let current = '';
  const raw = content.split('\n');
  // A final "\n" does not start another line (Go's bufio.Scanner).
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  for (let line of raw) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    let part = trimRightSpaces(line);
    const left = trimLeftSpaces(part);
    if (left.startsWith('{{-')) part = '{{' + left.slice(3);
    current += part;
    if (current.endsWith('-}}')) {
      current = current.slice(0, -3) + '}}';
    } else {
      lines.push(current);
      current = '';
    }
  }
  if (current !== '') lines.push(current);
  return lines.join('\n');
}

function trimRightSpaces(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 32) end--;
  return end === s.length ? s : s.slice(0, end);
}

function trimLeftSpaces(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) === 32) i++;
  return i === 0 ? s : s.slice(i);
}
