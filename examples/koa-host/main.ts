/** Runs the example host: `node dist/examples/koa-host/main.js` (PORT, default 3000). */
import { createHost } from './host.js';

const host = await createHost({ policies: [process.env['POLICIES'] ?? 'policies/emalidate.yaml'] });
const port = Number(process.env['PORT'] ?? 3000);
const server = host.app.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(`example host listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`);
});
const stop = () => server.close(() => void host.close());
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
