import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Outcome of resolving the references in one string. */
export interface Resolved {
  value: string;
  /** Problems, each naming the reference — never a value. */
  errors: string[];
  /** Notes such as "a default was used". */
  warnings: string[];
}

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
  const value = text.replace(REFERENCE, (match, body: string | undefined) => {
    if (match === '$${') return '${';
    const ref = `\${${body}}`;
    const envMatch = ENV.exec(body ?? '');
    if (envMatch) {
      const [, name, fallback] = envMatch as unknown as [string, string, string | undefined];
      const set = env[name];
      if (set !== undefined && set !== '') return set;
      if (fallback !== undefined) {
        warnings.push(`${name} is not set: using the demo default written in the policy — set it before production use`);
        return fallback;
      }
      errors.push(`${ref} is not set`);
      return '';
    }
    if (body?.startsWith('file:')) {
      const path = resolve(dirname(policyFile), body.slice(5));
      try {
        return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        errors.push(`${ref} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
        return '';
      }
    }
    errors.push(`${ref} is not a reference tokensmith knows; use \${env:NAME}, \${env:NAME:-default} or \${file:path} (write $\${ for a literal \${)`);
    return '';
  });
  return { value, errors, warnings };
}
