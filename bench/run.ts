/**
 * `npm run bench`: HTTP throughput of our routes against baselines measured in the same run
 * (servers in child processes, load from this one, loopback only, bounded in time), then
 * in-process engine calls against raw jose. Prints a table with ratios; writes
 * `.bench/results.json`. A report, not a test: it always exits 0.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tokenRequestFrom } from '../core/request.js';
import { boot } from '../server/bootstrap.js';
import { BENCH_ENV, POLICY_FILE } from './env.js';
import { runHttp, type HttpCase, type HttpResult } from './http.js';
import { runInProcess } from './inprocess.js';

/** A ratio we track: ours over its baseline, with the target when there is one. */
interface Pair {
  ours: string;
  baseline: string;
  target?: number;
}

async function main(): Promise<void> {
  const { engine, store } = await boot({ policies: [POLICY_FILE], store: 'memory', env: BENCH_ENV });
  const issued = await engine.issue('emalidate', tokenRequestFrom({ expires_in: '3600' }, '127.0.0.1'));
  const reply = engine.reply('emalidate', { ok: true, ...issued }).body;
  await store.close();
  const bearer = { authorization: `Bearer ${issued.token}` };
  const env = { ...BENCH_ENV, BENCH_BODY_SIZE: String(reply.length) };

  const cases: HttpCase[] = [
    { name: '(a) bare Koa, same body size', server: 'bare', path: '/', method: 'GET' },
    { name: '(b) hand-written jose issue route', server: 'jose-issue', path: '/emalidate/token', method: 'POST' },
    { name: '(c) tokensmith emalidate issue', server: 'ours-issue', path: '/emalidate/token', method: 'POST' },
    { name: '(d0) hand-written jose verify route', server: 'jose-verify', path: '/emalidate/demo', method: 'GET', headers: bearer },
    { name: '(d) tokensmith requireToken verify', server: 'ours-verify', path: '/emalidate/demo', method: 'GET', headers: bearer },
  ];
  const pairs: Pair[] = [
    { ours: '(c) tokensmith emalidate issue', baseline: '(b) hand-written jose issue route', target: 0.9 },
    { ours: '(d) tokensmith requireToken verify', baseline: '(d0) hand-written jose verify route' },
    { ours: '(c) tokensmith emalidate issue', baseline: '(a) bare Koa, same body size' },
  ];

  // Each ours runs in turns with its baseline; the bare ceiling on its own.
  const groups = [[cases[0]], [cases[1], cases[2]], [cases[3], cases[4]]] as HttpCase[][];
  const http: HttpResult[] = [];
  for (const group of groups) http.push(...(await runHttp(group, env)));
  for (const r of http) {
    console.log(`${r.name.padEnd(40)} ${r.rps.toFixed(0).padStart(8)} req/s  p50 ${String(r.p50).padStart(3)} ms  p99 ${String(r.p99).padStart(3)} ms  errors ${r.errors} non2xx ${r.non2xx}`);
  }
  const inproc = await runInProcess();

  console.log('\nratios (ours / baseline, same run)');
  const rows: Record<string, unknown>[] = [];
  const show = (name: string, ratio: number, target?: number) => {
    const verdict = target === undefined ? '' : ratio >= target ? `PASS (target ≥ ${target.toFixed(2)})` : `FAIL (target ≥ ${target.toFixed(2)})`;
    console.log(`  ${name.padEnd(76)} ${ratio.toFixed(2)}  ${verdict}`);
    rows.push({ name, ratio, target });
  };
  for (const p of pairs) {
    const ours = http.find((r) => r.name === p.ours) as HttpResult;
    const base = http.find((r) => r.name === p.baseline) as HttpResult;
    show(`${p.ours} / ${p.baseline}`, ours.rps / base.rps, p.target);
  }
  for (const r of inproc) {
    console.log(`  ${r.name}: ours ${r.ours.toFixed(0)} ops/s, raw ${r.baseline.toFixed(0)} ops/s`);
    show(`in-process ${r.name}`, r.ours / r.baseline, 0.8);
  }
  mkdirSync('.bench', { recursive: true });
  writeFileSync('.bench/results.json', JSON.stringify({ at: new Date().toISOString(), http, inproc, ratios: rows }, null, 2));
}

await main();
