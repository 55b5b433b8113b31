import { createHash, pbkdf2Sync } from 'node:crypto';

/**
 * .NET's `PasswordDeriveBytes(password, salt, "SHA1", iterations).GetBytes(length)` on a fresh
 * instance: PBKDF1 (RFC 8018 §5.1) with SHA-1, extended past 20 bytes in Microsoft's own way.
 *
 * Follows the reference implementation in dotnet/runtime,
 * `src/libraries/System.Security.Cryptography/src/System/Security/Cryptography/PasswordDeriveBytes.cs`
 * (MIT; same algorithm as .NET Framework's and Mono's `PasswordDeriveBytes.cs`):
 * - `ComputeBaseValue`: `base = SHA1(password ‖ salt)`, then hashed again `iterations − 2` times
 *   (the loop runs `for i = 1; i < iterations − 1`), so 1 and 2 iterations give the same bytes;
 * - `ComputeBytes`: block 0 is `SHA1(base)` (which makes the first 20 bytes plain PBKDF1 with
 *   `iterations`), block k ≥ 1 is `SHA1(decimal(k) ‖ base)` with k written in ASCII digits
 *   (`HashPrefix`), up to k = 999.
 * Only the first `GetBytes` call is reproduced: .NET's later calls on the same instance hand out
 * bytes shifted by a known bug (`_extraCount`), and XDOC's key is one call.
 * Checked against the known-answer tests of .NET's own suite
 * (`test/fixtures/xdoc/password-derive-bytes.json`).
 *
 * @example passwordDeriveBytes(Buffer.from('PasswordGoesHere'), Buffer.from([9, 5, 5, 5, 1, 2, 1, 2]), 100, 32)
 */
export function passwordDeriveBytes(password: Buffer, salt: Buffer | undefined, iterations: number, length: number): Buffer {
  if (!Number.isInteger(iterations) || iterations < 1) throw new TypeError('iterations must be a positive integer');
  if (!Number.isInteger(length) || length < 1 || length > 1000 * 20) throw new TypeError('length must be 1..20000 bytes');
  let base = createHash('sha1').update(password).update(salt ?? Buffer.alloc(0)).digest();
  for (let i = 1; i < iterations - 1; i++) base = createHash('sha1').update(base).digest();
  const blocks: Buffer[] = [];
  for (let k = 0; blocks.length * 20 < length; k++) {
    const hash = createHash('sha1');
    if (k > 0) hash.update(String(k), 'latin1');
    blocks.push(hash.update(base).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/**
 * .NET's `Rfc2898DeriveBytes(password, salt, iterations)` (HMAC-SHA1 by default), i.e. PBKDF2
 * (RFC 8018 §5.2); the password is UTF-8, as .NET's string constructor encodes it.
 */
export function pbkdf2Sha1(password: Buffer, salt: Buffer, iterations: number, length: number): Buffer {
  return pbkdf2Sync(password, salt, iterations, length, 'sha1');
}
