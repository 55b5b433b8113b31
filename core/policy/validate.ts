import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { DURATION_PATTERN } from '../duration.js';
import { PluginLoadError, type PolicyIssue } from '../errors.js';
import { didYouMean } from '../suggest.js';
import type { PolicyDocument } from './document.js';
import { baseSchema, buildPolicySchema, type SchemaParts } from './schema.js';

const compiled = new WeakMap<SchemaParts, ValidateFunction>();

/** The validator for a set of plugins (a registry), compiled once per set. The schema rejects, never repairs. */
export function validatorFor(parts: SchemaParts): ValidateFunction {
  let validate = compiled.get(parts);
  if (validate === undefined) {
    const ajv = newAjv();
    try {
      validate = ajv.compile(buildPolicySchema(parts));
    } catch (err) {
      throw schemaFault(parts, err);
    }
    compiled.set(parts, validate);
  }
  return validate;
}

const newAjv = (): Ajv =>
  new Ajv({ allErrors: true, strict: true, verbose: true, coerceTypes: false, useDefaults: false, removeAdditional: false });

/** A schema that does not compile is a plugin's fault: name the style or guard whose schema it is. */
function schemaFault(parts: SchemaParts, err: unknown): PluginLoadError {
  if (err instanceof TypeError) return new PluginLoadError(err.message, { cause: err });
  for (const [name, style] of parts.styles) {
    try {
      newAjv().compile(style.settingsSchema as object);
    } catch (own) {
      return new PluginLoadError(`style "${name}" declares a settings schema that is not valid JSON Schema: ${(own as Error).message}`, { cause: own });
    }
  }
  for (const guard of parts.guards.values()) {
    for (const [key, fragment] of Object.entries(guard.keys)) {
      try {
        newAjv().compile({ definitions: baseSchema()['definitions'], ...fragment } as object);
      } catch (own) {
        return new PluginLoadError(`guard "${guard.name}" declares a schema for "${key}" that is not valid JSON Schema: ${(own as Error).message}`, { cause: own });
      }
    }
  }
  return new PluginLoadError(`the policy schema does not compile: ${(err as Error).message}`, { cause: err });
}

const segmentsOf = (instancePath: string): string[] =>
  instancePath === '' ? [] : instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

/**
 * What a value is, for "got …". A value that came from a secret reference (`written` is how the
 * file gives it) is named by that reference, whatever the field: `id: ${env:APPKEY}` is a mistake
 * that must not print the key.
 */
const describe = (value: unknown, written?: string): string =>
  written !== undefined
    ? `${typeof value} from "${written}" (value not shown)`
    : value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;

/** One ajv error as a positioned issue saying what was expected. */
function toIssue(error: ErrorObject, document: PolicyDocument): PolicyIssue | undefined {
  const path = segmentsOf(error.instancePath);
  const params = error.params as Record<string, unknown>;
  const parent = error.parentSchema as { properties?: Record<string, unknown>; pattern?: string } | undefined;
  const got = (): string => describe(error.data, document.writtenAt(path));
  switch (error.keyword) {
    case 'if':
      return undefined; // the failing `then`/`else` branch reports the real problem
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const names = Object.keys(parent?.properties ?? {});
      return document.issue([...path, key], `unknown key "${key}"; ${didYouMean(key, names)}allowed keys: ${names.join(', ')}`, { key: true });
    }
    case 'required':
      return document.issue(path, `missing required key "${String(params['missingProperty'])}"`);
    case 'type':
      return document.issue(path, `expected ${String(params['type']).replace(',', ' or ')}, got ${got()}`);
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map(String);
      const close = typeof error.data === 'string' ? didYouMean(error.data, allowed) : '';
      return document.issue(path, `expected one of: ${allowed.join(', ')}; got ${got()}${close === '' ? '' : `; ${close.trimEnd()}`}`);
    }
    case 'pattern':
      return document.issue(
        path,
        params['pattern'] === DURATION_PATTERN
          ? `expected a duration such as 300s, 20m or 99h; got ${got()}`
          : `expected text matching ${String(params['pattern'])}; got ${got()}`,
      );
    case 'minimum':
    case 'maximum':
      return document.issue(path, `expected ${error.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params['limit'])}; got ${got()}`);
    case 'minItems':
    case 'maxItems': {
      const limit = Number(params['limit']);
      const count = Array.isArray(error.data) ? error.data.length : 0;
      return document.issue(
        path,
        `expected ${error.keyword === 'minItems' ? 'at least' : 'at most'} ${limit} ${limit === 1 ? 'item' : 'items'}; got ${count === 0 ? 'an empty list' : `${count}`}`,
      );
    }
    case 'minLength':
    case 'maxLength': {
      // The value may be a secret: say how long it is, never what it is.
      const limit = Number(params['limit']);
      const length = typeof error.data === 'string' ? [...error.data].length : 0;
      return document.issue(
        path,
        `expected ${error.keyword === 'minLength' ? 'at least' : 'at most'} ${limit} ${limit === 1 ? 'character' : 'characters'}; got ${length === 0 ? 'an empty string' : `${length}`}`,
      );
    }
    case 'uniqueItems':
      return document.issue(path, 'expected each item once; an item is listed twice');
    default:
      return document.issue(path, `${error.message ?? 'invalid'}`);
  }
}

/** Validates a document's data against the schema; every problem as a positioned issue. */
export function validateDocument(document: PolicyDocument, parts: SchemaParts): PolicyIssue[] {
  const validate = validatorFor(parts);
  if (validate(document.data)) return [];
  const seen = new Set<string>();
  const issues: PolicyIssue[] = [];
  for (const error of validate.errors ?? []) {
    const issue = toIssue(error, document);
    if (issue === undefined) continue;
    const key = `${issue.line}:${issue.col}:${issue.path}:${issue.message}`;
    if (!seen.has(key)) issues.push(issue);
    seen.add(key);
  }
  return issues;
}
