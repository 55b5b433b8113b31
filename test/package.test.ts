import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';

interface Manifest {
  private?: boolean;
  bin: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
  files: string[];
  scripts: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;

// The full check (pack, install offline, run) is scripts/pack-check.mjs, run by .ci/run; this
// keeps the manifest honest on every `npm test`.
describe('package.json (the published shape)', () => {
  it('is publishable: not private, built before packing', () => {
    expect(manifest.private).to.equal(undefined);
    expect(manifest.scripts['prepack']).to.equal('npm run build');
  });
  it('every export has a types condition, and both files exist after the build', () => {
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (entry === './package.json') continue;
      expect(target, entry).to.be.an('object');
      const { types, default: main } = target as { types: string; default: string };
      expect(existsSync(types), types).to.equal(true);
      expect(existsSync(main), main).to.equal(true);
    }
  });
  it('ships what the code reads at run time, and no compiled tests', () => {
    const shipped = (path: string) => manifest.files.some((entry) => path === entry || path.startsWith(entry));
    for (const path of ['bin/tokensmith.js', 'dist/core/index.js', 'dist/server/cli.js', 'dist/plugins/index.js', 'core/policy/policy.schema.json', 'server/demo/melissa.html', 'server/demo/melissa.js', 'policies/emalidate.yaml']) {
      expect(shipped(path), path).to.equal(true);
    }
    expect(shipped('dist/test/package.test.js')).to.equal(false);
    expect(shipped('dist/bench/run.js')).to.equal(false);
    expect(existsSync('LICENSE')).to.equal(true);
  });
});
