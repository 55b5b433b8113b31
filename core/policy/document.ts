import { LineCounter, isMap, isPair, isScalar, parseDocument, visit, type Document, type Node } from 'yaml';
import type { PolicyIssue } from '../errors.js';
import { resolveReferences } from './secrets.js';

/** A parsed policy file: its data, and positions for any path in it. */
export interface PolicyDocument {
  readonly file: string;
  /** The plain data, secret references resolved. */
  readonly data: unknown;
  /** The paths (`/credentials/0/secret`) of the values written with a secret reference. */
  readonly referenced: ReadonlySet<string>;
  /** Line and column (1-based) of the node at `path`, or of its nearest existing ancestor. */
  at(path: readonly (string | number)[], options?: { key?: boolean }): { line: number; col: number };
  issue(path: readonly (string | number)[], message: string, options?: { key?: boolean }): PolicyIssue;
}

export const pointer = (path: readonly (string | number)[]): string => (path.length ? `/${path.join('/')}` : '');

/**
 * Reads YAML (1.2 core schema, so `off` stays the string "off"), keeping positions, and resolves
 * secret references in every string value. Syntax errors and reference problems are issues.
 */
export function parsePolicyDocument(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): { document?: PolicyDocument; issues: PolicyIssue[]; warnings: PolicyIssue[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, version: '1.2', uniqueKeys: true, prettyErrors: false });
  const position = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { line, col };
  };
  const located = (offset: number, path: readonly (string | number)[], message: string): PolicyIssue => ({
    file, ...position(offset), path: pointer(path), message,
  });
  if (doc.errors.length) {
    // One issue per line: the parser's later errors on the same line are echoes of the first.
    const lines = new Set<number>();
    const first = doc.errors.filter((e) => {
      const { line } = position(e.pos[0]);
      return lines.has(line) ? false : (lines.add(line), true);
    });
    return { issues: first.map((e) => located(e.pos[0], [], `YAML: ${e.message.split('\n')[0]}`)), warnings: [] };
  }
  const issues: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  const referenced = new Set<string>();
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const path = pathOf([...ancestors, node]);
      const offset = node.range?.[0] ?? 0;
      referenced.add(pointer(path));
      const resolved = resolveReferences(node.value, file, env);
      for (const message of resolved.errors) issues.push(located(offset, path, message));
      for (const message of resolved.warnings) warnings.push(located(offset, path, message));
      node.value = resolved.value;
    },
  });
  const at = (path: readonly (string | number)[], options: { key?: boolean } = {}) => position(offsetOf(doc, path, options.key ?? false));
  const document: PolicyDocument = {
    file,
    data: oneByte(doc.toJS()),
    referenced,
    at,
    issue: (path, message, options) => ({ file, ...at(path, options), path: pointer(path), message }),
  };
  return { document, issues, warnings };
}

const BEYOND_LATIN1 = /[\u0100-\uffff]/;

/**
 * The data with every Latin-1 string copied out of the file's text. One character beyond
 * Latin-1 anywhere in a file (an arrow in a comment) makes V8 hold the whole text, and every
 * string taken from it, at two bytes a character; a policy id, path or parameter name taken
 * from it then makes what the request path builds from it two-byte too (store keys, log lines,
 * replies), which are slower to hash, flatten, lower-case and write (figures in
 * docs/performance.md).
 */
function oneByte(value: unknown): unknown {
  if (typeof value === 'string') return BEYOND_LATIN1.test(value) ? value : Buffer.from(value, 'latin1').toString('latin1');
  if (Array.isArray(value)) return value.map(oneByte);
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [oneByte(key), oneByte(inner)]));
}

/** The document path of a node from `visit`'s ancestors. */
function pathOf(ancestors: readonly unknown[]): (string | number)[] {
  const path: (string | number)[] = [];
  for (let i = 0; i < ancestors.length; i++) {
    const node = ancestors[i];
    if (isPair(node) && isScalar(node.key)) path.push(node.key.value as string);
    else if (node !== null && typeof node === 'object' && 'items' in node && !isMap(node)) {
      const next = ancestors[i + 1] ?? undefined;
      const items = (node as { items: unknown[] }).items;
      const index = items.indexOf(next);
      if (index >= 0) path.push(index);
    }
  }
  return path;
}

/** Offset of the node at `path` (or of its key), falling back to the nearest existing ancestor. */
function offsetOf(doc: Document, path: readonly (string | number)[], key: boolean): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) return offset;
      const keyOffset = (pair.key as Node).range?.[0] ?? offset;
      if (key && segment === path[path.length - 1]) return keyOffset;
      node = pair.value;
      offset = (node as Node | null)?.range?.[0] ?? keyOffset;
    } else if (node !== null && typeof node === 'object' && 'items' in node) {
      const item = (node as { items: unknown[] }).items[Number(segment)];
      if (item === undefined) return offset;
      node = item;
      offset = (item as Node).range?.[0] ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}
