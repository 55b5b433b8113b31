#!/usr/bin/env node
// Thin entry: the CLI lives in server/cli.ts (compiled to dist/ by `npm run build`).
import { main } from '../dist/server/cli.js';

const code = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  stderrIsTTY: process.stderr.isTTY === true,
});
process.exitCode = code;
