import type { TokenRequest } from './ports.js';

/**
 * A neutral request built from plain values, for the CLI, tests and library users.
 *
 * @example
 * ```ts
 * const request = tokenRequestFrom({ CID: '123456', AppKey: key }, '127.0.0.1');
 * await engine.issue('electa', request);
 * ```
 */
export function tokenRequestFrom(
  params: Readonly<Record<string, string>>,
  clientAddress: string,
  options: { caseInsensitive?: boolean; bearer?: string } = {},
): TokenRequest {
  const fold = options.caseInsensitive ?? true;
  const values = new Map(Object.entries(params).map(([k, v]) => [fold ? k.toLowerCase() : k, v]));
  return {
    param: fold ? (name) => values.get(name.toLowerCase()) : (name) => values.get(name),
    clientAddress,
    ...(options.bearer === undefined ? {} : { bearer: options.bearer }),
  };
}
