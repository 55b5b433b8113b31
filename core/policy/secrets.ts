import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Outcome of resolving the references in one string. */
export interface Resolved {
  value: string;
  /** Problems, each naming the reference — never a value. */
  errors: string[];
  /** Notes such as "a default was used". */
  warnings: string[];
  /** Each reference that gave a value, with that value: messages must name the one, never show the other. */
  resolved: { reference: string; value: string }[];
}

/** The largest `${file:…}` read: a secret is a few hundred bytes; a bigger file is a mistake or an attack. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const ENV = /^env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Replaces secret references in a policy string: `${env:NAME}`, `${env:NAME:-default}`,
 * `${file:path}` (relative to the policy file; one trailing newline dropped). `$${` stands for
 * a literal `${`.
 *
 * @example resolveReferences('${env:APPKEY}', '/etc/ts/electa.yaml', process.env)
 */
export function resolveReferences(text: string, policyFile: string, env: Readonly<Record<string, string | undefined>>): Resolved {
  const errors: string[] = [];
  const warnings: string[] = [];
  const resolved: Resolved['resolved'] = [];
  const value = text.replace(REFERENCE, (match, body: string | undefined) => {
    if (match === '$${') return '${';
    const ref = `\${${body}}`;
    const envMatch = ENV.exec(body ?? '');
    if (envMatch) {
      const [, name, fallback] = envMatch as unknown as [string, string, string | undefined];
      const set = env[name];
      if (set !== undefined && set !== '') {
        resolved.push({ reference: ref, value: set });
        return set;
      }
      if (fallback !== undefined) {
        warnings.push(`${name} is not set: using the demo default written in the policy — set it before production use`);
        resolved.push({ reference: ref, value: fallback });
        return fallback;
      }
      errors.push(`${ref} is not set`);
      return '';
    }
    if (body?.startsWith('file:')) {
      const path = resolve(dirname(policyFile), body.slice(5));
      const read = readSmallFile(path);
      if (typeof read !== 'string') {
        errors.push(read.tooLarge ? `${ref} is larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB; a secret file holds one secret` : `${ref} cannot be read (${read.code})`);
        return '';
      }
      const secret = read.replace(/\r?\n$/, '');
      resolved.push({ reference: ref, value: secret });
      return secret;
    }
    errors.push(`${ref} is not a reference tokensmith knows; use \${env:NAME}, \${env:NAME:-default} or \${file:path} (write $\${ for a literal \${)`);
    return '';
  });
  return { value, errors, warnings, resolved };
}

/**
 * The file's text, or why not. Only a regular file is read: opening a named pipe would wait for a
 * writer, and a device such as /dev/zero never ends; the read stops one byte past the bound.
 */
function readSmallFile(path: string): string | { code: string; tooLarge?: true } {
  let fd: number | undefined;
  try {
    if (!statSync(path).isFile()) return { code: 'not a regular file' };
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return length > MAX_SECRET_FILE_BYTES ? { code: 'too large', tooLarge: true } : buffer.toString('utf8', 0, length);
  } catch (err) {
    return { code: (err as NodeJS.ErrnoException).code ?? 'error' };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
