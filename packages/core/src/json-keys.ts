/**
 * Duplicate keys in JSON text. JSON.parse keeps the last of two equal keys in one object and drops the
 * other unseen; formats that forbid duplicates (safetensors headers, docs/model-file.md) need to see them.
 */

/**
 * The first key that occurs twice in one object of `text`, compared after unescaping ("a" and "\u0061"
 * are the same key), or undefined when there is none. `text` must already be valid JSON (JSON.parse
 * accepted it): then a string is a key exactly when it sits in an object and a ':' follows it.
 */
export function firstDuplicateKey(text: string): string | undefined {
  const open: (Set<string> | null)[] = []; // per open brace its keys so far, per open bracket null
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') open.push(new Set());
    else if (c === '[') open.push(null);
    else if (c === '}' || c === ']') open.pop();
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      let k = j + 1;
      while (text[k] === ' ' || text[k] === '\t' || text[k] === '\n' || text[k] === '\r') k++;
      const keys = open[open.length - 1];
      if (keys && text[k] === ':') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = j;
    }
  }
  return undefined;
}
