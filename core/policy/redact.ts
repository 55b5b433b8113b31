/**
 * The values that secret references resolved to, each with the text it was written as, so that a
 * message can name the reference instead of the value. Checks, style plugins and the checks
 * across files quote policy values freely ("key id "x" is listed twice"); the value may have come
 * from `${env:…}` or `${file:…}` in any field, so every message passes through `redact` before
 * anyone sees it. Matching ignores case because checks quote some values lower-cased (formats).
 *
 * @example
 * const secrets = new SecretValues();
 * secrets.add('ELKEY9X8', '${env:ELECTA_APPKEY}');
 * secrets.redact('got "elkey9x8"'); // → 'got "${env:ELECTA_APPKEY}"'
 */
export class SecretValues {
  /** Lower-cased value → the text as written. */
  readonly #written = new Map<string, string>();
  #pattern: RegExp | undefined;

  add(value: string, written: string): void {
    if (value === '') return;
    for (const form of [value, JSON.stringify(value).slice(1, -1)]) {
      if (!this.#written.has(form.toLowerCase())) this.#written.set(form.toLowerCase(), written);
    }
    this.#pattern = undefined;
  }

  /** Takes in every value of `other` (the checks across files quote one file's values in another's issues). */
  addAll(other: SecretValues): void {
    for (const [value, written] of other.#written) if (!this.#written.has(value)) this.#written.set(value, written);
    this.#pattern = undefined;
  }

  get size(): number {
    return this.#written.size;
  }

  /** The message with every secret value replaced by its reference; the longest value wins where two overlap. */
  redact(message: string): string {
    if (this.#written.size === 0) return message;
    this.#pattern ??= new RegExp(
      [...this.#written.keys()]
        .sort((a, b) => b.length - a.length)
        .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'gi',
    );
    // A match the map does not know (case folding beyond what toLowerCase gives) is still hidden.
    return message.replace(this.#pattern, (match) => this.#written.get(match.toLowerCase()) ?? '(a secret reference)');
  }
}
