/**
 * Starts the service: config from the environment (a bad value exits 1 with
 * a message naming the variable), listen, and close gracefully on a signal.
 *
 * On SIGTERM or SIGINT (close-with-grace): the listener closes at once (new
 * connections are refused; a request on a kept-alive connection gets 503
 * ACT_ERR_SHUTTING_DOWN), every request already accepted runs to its end,
 * inline or pooled, then the worker pool closes and the process exits 0. If
 * that takes longer than SHUTDOWN_TIMEOUT_MS the process exits 1 anyway; a
 * second signal exits 1 at once. An uncaught exception or unhandled
 * rejection closes the same way and exits 1. Node runs as PID 1 in the
 * container and receives the signal itself: these handlers are what makes
 * it stop (PID 1 has no default action for SIGTERM).
 *
 * With HTTP_PROCESSES > 1 this process is the primary of that many server
 * processes (src/cluster.ts), each of which runs the code below; the primary
 * passes the signal on to them.
 */
import cluster from 'node:cluster';
import closeWithGrace from 'close-with-grace';
import { closeWhenAsked, superviseServers } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

if (config.HTTP_PROCESSES > 1 && cluster.isPrimary) superviseServers(config);
else await serve(config);

async function serve(config: Config): Promise<void> {
  // Loaded here, not above: the primary of HTTP_PROCESSES > 1 serves nothing and need not hold the app's code.
  const { buildApp } = await import('./app.js');
  const app = await buildApp(config);
  let closing = false;

  const { close } = closeWithGrace(
    {
      delay: config.SHUTDOWN_TIMEOUT_MS,
      logger: { error: (message: unknown) => app.log.error(typeof message === 'string' ? message : { err: message }, 'shutdown') },
    },
    async ({ signal, err }) => {
      closing = true;
      if (err) app.log.error({ err }, 'closing after an uncaught error');
      else app.log.info({ signal, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'closing: refusing new connections, finishing requests in flight');
      await app.close();
      app.log.info('closed');
    },
  );
  // Asked by the primary once this process listens (in a terminal, Ctrl-C reaches both: close once).
  if (cluster.isWorker)
    closeWhenAsked(() => {
      if (!closing) void close();
    });

  try {
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (error) {
    app.log.error({ err: error }, 'could not start');
    process.exit(1);
  }
}
