/**
 * The ceilings for bench:http: a minimal Fastify server with one route that
 * parses the same JSON and echoes it back, and one that echoes any other body
 * as bytes (the binary /v2 scenarios' ceiling: what the transport alone
 * carries on this host). Started as its own process.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
app.post('/echo', async (request) => request.body);
// Bodies of any other type arrive as one Buffer and go back as they came.
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
app.post('/echo-bytes', async (request, reply) => reply.type('application/octet-stream').send(request.body as Buffer));
app.get('/healthz', async () => ({ status: 'ok' }));
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`listening ${address}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)));
