/**
 * Python's json.dumps layout (", " and ": " separators; non-ASCII escaped unless `ensureAscii` is false, as
 * upstream's serializers choose), so bodies read byte for byte like upstream's.
 */
export function pythonJson(value: unknown, ensureAscii = true): string {
  const spaced = JSON.stringify(value, null, 1).replace(/\n */g, (m, offset: number, all: string) => {
    const prev = all[offset - 1];
    const next = all[offset + m.length];
    return prev === '[' || prev === '{' || next === ']' || next === '}' ? '' : ' ';
  });
  return ensureAscii
    ? spaced.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : spaced;
}
