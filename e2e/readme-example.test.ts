import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

it('the README\'s example spec is e2e/specs/readme-example.spec.ts, character for character', () => {
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
  const at = readme.indexOf('<!-- e2e/specs/readme-example.spec.ts -->');
  expect(at, 'the marker before the README\'s example').toBeGreaterThan(0);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block?.[1]).toBe(readFileSync(resolve(root, 'e2e/specs/readme-example.spec.ts'), 'utf8'));
});
