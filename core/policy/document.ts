import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import type { PolicyIssue } from '../errors.js';
import { SecretValues } from './redact.js';
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
  /**
   * The value at `path` as written, when it holds a secret reference (`${env:APPKEY}`), so that
   * a message names the reference instead of showing the value; `undefined` otherwise.
   */
  writtenAt(path: readonly (string | number)[]): string | undefined;
}

export const pointer = (path: readonly (string | number)[]): string => (path.length ? `/${path.join('/')}` : '');

/**
 * How many times aliases (`*name`) may be expanded in one file. An alias bomb ("billion laughs":
 * aliases of lists of aliases) grows exponentially; a policy has no use for more than a few.
 */
export const MAX_ALIAS_EXPANSIONS = 100;

const idFromReference = (written: string): string =>
  `a policy id cannot come from a secret reference ("${written}"): the id is shown in every log line, metric and message; write the id itself`;

/**
 * Reads YAML (1.2 core schema, so `off` stays the string "off"), keeping positions, and resolves
 * secret references in every string value. Syntax errors and reference problems are issues.
 * `secrets` holds every value a reference gave, for `SecretValues.redact`.
 */
export function parsePolicyDocument(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): { document?: PolicyDocument; issues: PolicyIssue[]; warnings: PolicyIssue[]; secrets: SecretValues } {
  const lines = new LineCounter();
  const secrets = new SecretValues();
  // Duplicate keys are found below: the parser's own check compares each key with every earlier one.
  const doc = parseDocument(text, { lineCounter: lines, version: '1.2', uniqueKeys: false, prettyErrors: false });
  const position = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { line, col };
  };
  const located = (offset: number, path: readonly (string | number)[], message: string): PolicyIssue => ({
    file, ...position(offset), path: pointer(path), message,
  });
  const errors = [...doc.errors.map((e) => ({ offset: e.pos[0], message: e.message.split('\n')[0] as string })), ...duplicateKeys(doc)];
  if (errors.length) {
    // One issue per line: the parser's later errors on the same line are echoes of the first.
    const seen = new Set<number>();
    const first = errors
      .sort((a, b) => a.offset - b.offset)
      .filter((e) => {
        const { line } = position(e.offset);
        return seen.has(line) ? false : (seen.add(line), true);
      });
    return { issues: first.map((e) => located(e.offset, [], `YAML: ${e.message}`)), warnings: [], secrets };
  }
  const issues: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  const referenced = new Set<string>();
  const written = new Map<Scalar, string>();
  eachString(doc.contents, [], (node, path) => {
    if (!node.value.includes('${')) return;
    referenced.add(pointer(path));
    const offset = node.range?.[0] ?? 0;
    const resolved = resolveReferences(node.value, file, env);
    for (const message of resolved.errors) issues.push(located(offset, path, message));
    for (const message of resolved.warnings) warnings.push(located(offset, path, message));
    if (resolved.resolved.length) {
      // The id is what every log line, metric and summary shows: a secret put there would be shown.
      if (path.length === 1 && path[0] === 'id') issues.push(located(offset, path, idFromReference(node.value)));
      written.set(node, node.value);
      secrets.add(resolved.value, node.value);
      for (const { reference, value } of resolved.resolved) secrets.add(value, reference);
    }
    node.value = resolved.value;
  });
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    const message = /alias count/.test(err.message)
      ? `YAML: aliases (*name) expand more than ${MAX_ALIAS_EXPANSIONS} times; refused as an alias bomb ("billion laughs")`
      : `YAML: ${err.message}`;
    return { issues: [located(0, [], message)], warnings: [], secrets };
  }
  const nodes = new NodeIndex(doc);
  const at = (path: readonly (string | number)[], options: { key?: boolean } = {}) => position(nodes.offsetOf(path, options.key ?? false));
  const document: PolicyDocument = {
    file,
    data,
    referenced,
    at,
    issue: (path, message, options) => ({ file, ...at(path, options), path: pointer(path), message }),
    writtenAt: (path) => {
      const node = nodes.nodeAt(path);
      return isScalar(node) ? written.get(node) : undefined;
    },
  };
  return { document, issues, warnings, secrets };
}

/** Each string scalar of the tree with its path (keys are not visited: only values hold references). */
function eachString(node: unknown, path: (string | number)[], visit: (node: Scalar<string>, path: (string | number)[]) => void): void {
  if (isMap(node)) {
    for (const pair of node.items) if (isScalar(pair.key)) eachString(pair.value, [...path, String(pair.key.value)], visit);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => eachString(item, [...path, i], visit));
  } else if (isScalar(node) && typeof node.value === 'string') {
    visit(node as Scalar<string>, path);
  }
}

/** Keys given twice in one mapping, found with one set per mapping (so linear in the file). */
function duplicateKeys(doc: Document): { offset: number; message: string }[] {
  const found: { offset: number; message: string }[] = [];
  const walk = (node: unknown): void => {
    if (isMap(node)) {
      const keys = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          if (keys.has(pair.key.value)) found.push({ offset: pair.key.range?.[0] ?? 0, message: 'Map keys must be unique' });
          keys.add(pair.key.value);
        }
        walk(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item);
    }
  };
  walk(doc.contents);
  return found;
}

/**
 * Finds the node at a path. Each mapping's keys are indexed the first time a path goes through
 * it, so that positioning one issue per key of a mapping with many keys stays linear.
 */
class NodeIndex {
  readonly #doc: Document;
  readonly #pairs = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(doc: Document) {
    this.#doc = doc;
  }

  #pairOf(map: YAMLMap, segment: string | number): Pair | undefined {
    let index = this.#pairs.get(map);
    if (index === undefined) {
      index = new Map();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key !== undefined && !index.has(key)) index.set(key, pair);
      }
      this.#pairs.set(map, index);
    }
    return index.get(String(segment));
  }

  /** The value node at `path` (aliases followed), or undefined. */
  nodeAt(path: readonly (string | number)[]): unknown {
    let node: unknown = this.#doc.contents;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.#doc);
      if (isMap(node)) node = this.#pairOf(node, segment)?.value;
      else if (isSeq(node)) node = node.items[Number(segment)];
      else return undefined;
    }
    return isAlias(node) ? node.resolve(this.#doc) : node;
  }

  /** Offset of the node at `path` (or of its key), falling back to the nearest existing ancestor. */
  offsetOf(path: readonly (string | number)[], key: boolean): number {
    let node: unknown = this.#doc.contents;
    let offset = (node as Node | null)?.range?.[0] ?? 0;
    for (const [i, segment] of path.entries()) {
      if (isMap(node)) {
        const pair = this.#pairOf(node, segment);
        if (pair === undefined) return offset;
        const keyOffset = (pair.key as Node).range?.[0] ?? offset;
        if (key && i === path.length - 1) return keyOffset;
        node = pair.value;
        offset = (node as Node | null)?.range?.[0] ?? keyOffset;
      } else if (isSeq(node)) {
        const item = node.items[Number(segment)];
        if (item === undefined) return offset;
        node = item;
        offset = (item as Node).range?.[0] ?? offset;
      } else {
        return offset;
      }
    }
    return offset;
  }
}
