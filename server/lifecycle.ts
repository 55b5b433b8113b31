import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** How a drain ended. */
export interface Drained {
  /** Requests still running when the grace period ran out (their connections were destroyed); 0 = a clean stop. */
  readonly cut: number;
}

export interface Drainable {
  /** Requests being served now. */
  readonly inFlight: number;
  /**
   * Stops accepting connections, lets the requests in flight finish (their replies say
   * `Connection: close`, and keep-alive connections are closed as soon as they are idle), and
   * resolves when the server has closed, or when `graceMs` has passed: then the remaining
   * connections are destroyed and `cut` says how many requests were still running.
   */
  drain(graceMs: number): Promise<Drained>;
  /** Ends a drain at once (a second signal): destroys every connection left. */
  force(): void;
}

/**
 * Tracks a Node HTTP server's requests so that it can be shut down gracefully. Call it right
 * after creating the server, before it serves anything.
 *
 * @example
 * ```ts
 * const server = app.listen(8080);
 * const lifecycle = drainable(server);
 * process.once('SIGTERM', async () => process.exit((await lifecycle.drain(10_000)).cut ? 1 : 0));
 * ```
 */
export function drainable(server: Server): Drainable {
  const running = new Set<ServerResponse>();
  let draining = false;
  let finish: ((drained: Drained) => void) | undefined;

  server.on('request', function trackRequest(_req: IncomingMessage, res: ServerResponse) {
    running.add(res);
    if (draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      running.delete(res);
      if (draining) server.closeIdleConnections();
    });
  });

  const cut = (): void => {
    const left = running.size;
    server.closeAllConnections();
    finish?.({ cut: left });
  };

  return {
    get inFlight() {
      return running.size;
    },
    drain(graceMs) {
      draining = true;
      for (const res of running) if (!res.headersSent) res.setHeader('connection', 'close');
      return new Promise<Drained>((resolve) => {
        const timer = setTimeout(cut, graceMs);
        finish = (drained) => {
          clearTimeout(timer);
          finish = undefined;
          resolve(drained);
        };
        server.close(() => finish?.({ cut: 0 }));
        server.closeIdleConnections();
      });
    },
    force: cut,
  };
}

/** A request handler that says when it is done, as Koa's `app.callback()` does. */
export type SettlingHandler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown>;

export interface Settling {
  /** The handler to give `createServer`. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Handlers still running. */
  readonly running: number;
  /** Resolves when no handler runs any more, or after `timeoutMs`: with how many still run. */
  settled(timeoutMs: number): Promise<number>;
}

/**
 * Counts the handlers still running, which is not the same as the requests `drainable` counts:
 * a connection cut at the end of the grace period is gone at once, but its handler goes on
 * until its body read or store call fails, and then writes its log line. A shutdown waits for
 * them before it closes the store and says it stopped, so that no line comes after that one.
 *
 * @example
 * ```ts
 * const handlers = settling(app.callback());
 * const server = createServer(handlers.handler).listen(8080);
 * await drainable(server).drain(10_000);
 * await handlers.settled(1_000);
 * ```
 */
export function settling(handle: SettlingHandler): Settling {
  // A count and one reaction a request: this wraps every request `serve` answers.
  let running = 0;
  let idle: (() => void) | undefined;
  const end = (): void => {
    if (--running === 0) idle?.();
  };
  return {
    handler(req, res) {
      running++;
      handle(req, res).then(end, end); // Koa's never rejects; another handler's rejection is its own business
    },
    get running() {
      return running;
    },
    async settled(timeoutMs) {
      if (running === 0) return 0;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        idle = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      idle = undefined;
      return running;
    },
  };
}
