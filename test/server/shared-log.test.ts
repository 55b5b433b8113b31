import { expect } from 'chai';
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, flushLogger } from '../../server/logging.js';

describe('createLogger({ shared: true }): the log of several workers on one stderr', () => {
  let dir: string;
  const original = fs.write;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-shared-log-'));
  });
  afterEach(() => {
    fs.write = original;
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes whole lines, at most 4 KiB a write, which a pipe never cuts', async () => {
    const file = join(dir, 'serve.log');
    const logger = createLogger({ destination: file, shared: true });
    // Every write(2) the destination makes, as it makes it: its size and its last byte.
    const writes: { size: number; last: number }[] = [];
    fs.write = ((fd: number, buffer: Buffer, ...rest: unknown[]) => {
      // A flush with nothing pending writes zero bytes, which cut nothing.
      if (buffer.length > 0) writes.push({ size: buffer.length, last: buffer[buffer.length - 1] as number });
      return (original as (...args: unknown[]) => unknown)(fd, buffer, ...rest);
    }) as typeof fs.write;
    for (let i = 0; i < 2_000; i++) logger.info({ i, policy: 'electa', path: '/apps/token.asp', outcome: 'ok' }, 'token request');
    // flush() may call back with less than a batch still pending; the periodic flush (100 ms) writes it.
    await flushLogger(logger);
    const read = () => readFileSync(file, 'utf8').trim().split('\n');
    for (let waited = 0; read().length < 2_000 && waited < 3_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    fs.write = original;
    expect(writes.length).to.be.greaterThan(10);
    expect(writes.filter((w) => w.size > 4096)).to.deep.equal([]);
    expect(writes.filter((w) => w.last !== 0x0a)).to.deep.equal([]);
    expect(read().map((l) => (JSON.parse(l) as { i: number }).i)).to.deep.equal([...Array(2_000).keys()]);
  });
});
