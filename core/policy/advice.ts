import type { PolicyIssue } from '../errors.js';
import type { PolicyDocument } from './document.js';

/**
 * Setting names whose values are secrets: a credential's `secret`, emalidate's key `secret`,
 * XDOC's raw `key`, `passphrase` and `appKey`s, a licence. Other names that merely contain
 * "key" (`keySize`, `keyEncoding`) are settings, not secrets.
 */
const SECRET_SETTING = /^(secret|client_secret|password|passphrase|key|private|appkeys?|licen[cs]e)$/i;

/**
 * Warnings for secrets written into the file itself instead of a `${env:…}` or `${file:…}`
 * reference: a policy file is usually committed, so such a secret is in every clone. A warning,
 * not an error, so that a throw-away test policy still loads. The value is never shown.
 */
export function literalSecrets(document: PolicyDocument): PolicyIssue[] {
  const found: PolicyIssue[] = [];
  const walk = (value: unknown, path: (string | number)[], name: string | undefined): void => {
    if (typeof value === 'string') {
      if (value !== '' && name !== undefined && SECRET_SETTING.test(name) && !document.referenced.has(`/${path.join('/')}`)) {
        found.push(document.issue(path, `a secret is written in the file (value not shown); use \${env:NAME} or \${file:path} instead`));
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, [...path, i], name));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) walk(inner, [...path, key], key);
    }
  };
  walk(document.data, [], undefined);
  return found;
}
