/**
 * A path folded for case-insensitive matching: ASCII letters only, as the vendors' IIS and
 * classic ASP servers compare paths. Unicode case folding is not used on purpose: it maps a
 * few non-ASCII characters onto ASCII ones (the Kelvin sign `K` onto `k`), which would let a
 * path that no policy names reach a route. Policy paths are ASCII (the schema says so).
 *
 * @example foldPath('/V3/JSON/Service.svc/RequestToken') // '/v3/json/service.svc/requesttoken'
 */
export function foldPath(path: string): string {
  return /[A-Z]/.test(path) ? path.replace(/[A-Z]/g, (letter) => letter.toLowerCase()) : path;
}
