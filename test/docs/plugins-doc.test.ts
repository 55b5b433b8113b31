import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURE = 'test/fixtures/outside-plugin';

/** The code blocks that follow a "*From the fixture*" line, up to the next line of prose. */
function fixtureBlocks(doc: string): string[] {
  const blocks: string[] = [];
  let following = false;
  let block: string[] | undefined;
  for (const line of doc.split('\n')) {
    if (block !== undefined) {
      if (line.startsWith('```')) {
        if (following) blocks.push(block.map((l) => `${l}\n`).join(''));
        block = undefined;
      } else block.push(line);
    } else if (line.startsWith('```')) block = [];
    else if (line.startsWith('*From the fixture*')) following = true;
    else if (line.trim() !== '') following = false;
  }
  return blocks;
}

describe('docs/plugins.md', () => {
  const doc = readFileSync('docs/plugins.md', 'utf8');

  it('quotes the outside fixture plugin verbatim wherever it says so', () => {
    const sources = readdirSync(FIXTURE).map((name) => readFileSync(join(FIXTURE, name), 'utf8'));
    const blocks = fixtureBlocks(doc);
    expect(blocks.length).to.be.greaterThanOrEqual(8);
    const stale = blocks.filter((block) => !sources.some((source) => source.includes(block)));
    expect(stale, 'blocks marked "From the fixture" that are not in test/fixtures/outside-plugin').to.deep.equal([]);
  });

  it('lists every conformance check the kit runs, in order', async () => {
    const { CONFORMANCE_CHECKS } = await import('../../server/testkit/index.js');
    const listed = [...doc.matchAll(/^ ?\d+\. \*\*([^*]+)\*\*/gm)].map((m) => m[1]);
    expect(listed).to.deep.equal(CONFORMANCE_CHECKS.map((c) => c.name.split(':')[0]));
  });
});
