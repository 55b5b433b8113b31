import { randomBytes, randomUUID } from 'node:crypto';
import type { Random } from './ports.js';

/** Randomness from the operating system's CSPRNG. */
export class CryptoRandom implements Random {
  bytes(length: number): Buffer {
    return randomBytes(length);
  }
  uuid(): string {
    return randomUUID();
  }
}
