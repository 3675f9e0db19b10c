/**
 * deploy/k8s: every manifest is valid against the Kubernetes API schemas
 * (kubernetes-models: validators generated from the Kubernetes OpenAPI
 * document), and agrees with the service itself: probe paths answer on the
 * real app, the ports line up with the Dockerfile and the config, every
 * ConfigMap key is a configuration variable whose value parses, the grace
 * period outlasts the shutdown, and the hardening the image relies on is there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { FastifyInstance } from 'fastify';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { configKeys, loadConfig } from '../../src/config.js';
import { parseDockerfile, stageEnv, words } from '../container/dockerfile-parse.js';
import { build } from '../helpers/app.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = join(root, 'deploy', 'k8s');

type Manifest = Record<string, any>;
type Model = { validate(): void };
const MODELS: Record<string, new (data: any) => Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
const manifests: { file: string; doc: Manifest }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { file, doc: d.toJS() as Manifest };
  }),
);
const one = (kind: string): Manifest => {
  const found = manifests.filter((m) => m.doc.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0].doc;
};

/** Throws with the schema's own messages when the manifest is invalid. */
function validate(doc: Manifest): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc).validate();
}

describe('deploy/k8s manifests', () => {
  it('are the five expected objects, one per file', () => {
    expect(manifests.map((m) => `${m.doc.apiVersion} ${m.doc.kind}`).sort()).toEqual([
      'apps/v1 Deployment',
      'autoscaling/v2 HorizontalPodAutoscaler',
      'policy/v1 PodDisruptionBudget',
      'v1 ConfigMap',
      'v1 Service',
    ]);
  });

  it.each(manifests.map((m) => [m.file, m.doc] as const))('%s is valid against the Kubernetes schema', (_file, doc) => {
    expect(() => validate(doc)).not.toThrow();
  });

  it('the validator does catch mistakes (control)', () => {
    const deployment = structuredClone(one('Deployment'));
    deployment.spec.template.spec.containers[0].ports[0].containerPort = '3000';
    expect(() => validate(deployment)).toThrow(/containerPort must be integer/);
    const hpa = structuredClone(one('HorizontalPodAutoscaler'));
    delete hpa.spec.scaleTargetRef;
    expect(() => validate(hpa)).toThrow(/scaleTargetRef/);
    const service = structuredClone(one('Service'));
    service.spec.ports[0].port = 'eighty';
    expect(() => validate(service)).toThrow(/port must be integer/);
  });

  it('every ConfigMap key is a configuration variable, and the values parse', () => {
    const data = one('ConfigMap').data as Record<string, string>;
    const known = new Set<string>(configKeys());
    expect(Object.keys(data).filter((k) => !known.has(k))).toEqual([]);
    expect(Object.values(data).every((v) => typeof v === 'string')).toBe(true);
    // The whole ConfigMap as the environment: a valid configuration (a bad value would stop the pod).
    expect(() => loadConfig(data)).not.toThrow();
    // The secret stays out of it.
    expect(data).not.toHaveProperty('API_KEY');
  });

  it('the container env names are configuration variables too (or Node options)', () => {
    const container = one('Deployment').spec.template.spec.containers[0];
    const known = new Set<string>([...configKeys(), 'NODE_OPTIONS']);
    expect((container.env as { name: string }[]).map((e) => e.name).filter((n) => !known.has(n))).toEqual([]);
    const apiKey = (container.env as Manifest[]).find((e) => e.name === 'API_KEY')!;
    expect(apiKey.valueFrom.secretKeyRef).toMatchObject({ optional: true });
    expect(container.envFrom).toEqual([{ configMapRef: { name: one('ConfigMap').metadata.name } }]);
  });

  describe('against the real app', () => {
    let app: FastifyInstance;
    beforeAll(async () => {
      app = await build();
    });
    afterAll(async () => {
      await app.close();
    });

    it('probe paths are the service routes: liveness /healthz, readiness /readyz, both 200', async () => {
      const container = one('Deployment').spec.template.spec.containers[0];
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        const response = await app.inject(probe.httpGet.path);
        expect(response.statusCode, probe.httpGet.path).toBe(200);
        expect(response.json()).toEqual({ status: 'ok' });
      }
      // The scrape annotation points at the real metrics route.
      const annotations = one('Deployment').spec.template.metadata.annotations;
      expect((await app.inject(annotations['prometheus.io/path'])).statusCode).toBe(200);
    });
  });

  it('ports line up: probes and Service use the named container port, which is PORT and the Dockerfile EXPOSE', () => {
    const deployment = one('Deployment');
    const container = deployment.spec.template.spec.containers[0];
    const port = container.ports.find((p: Manifest) => p.name === 'http');
    expect(port).toBeDefined();
    const config = loadConfig(one('ConfigMap').data);
    expect(port.containerPort).toBe(config.PORT);
    expect(config.HOST).toBe('0.0.0.0');
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) expect([port.name, port.containerPort]).toContain(probe.httpGet.port);
    const service = one('Service');
    expect([port.name, port.containerPort]).toContain(service.spec.ports[0].targetPort);
    expect(String(deployment.spec.template.metadata.annotations['prometheus.io/port'])).toBe(String(port.containerPort));

    const dockerfile = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
    const final = dockerfile.stages[dockerfile.stages.length - 1];
    const exposed = final.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => words(i.args)).map((p) => Number(p.split('/')[0]));
    expect(exposed).toContain(port.containerPort);
    expect(Number(stageEnv(dockerfile, final).PORT)).toBe(port.containerPort);
  });

  it('selectors match the pod labels; the HPA scales this Deployment', () => {
    const deployment = one('Deployment');
    const labels = deployment.spec.template.metadata.labels as Record<string, string>;
    const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(matches(deployment.spec.selector.matchLabels)).toBe(true);
    expect(matches(one('Service').spec.selector)).toBe(true);
    expect(matches(one('PodDisruptionBudget').spec.selector.matchLabels)).toBe(true);
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.metrics).toEqual([expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) })]);
    // The HPA and the PDB leave room for each other: a drain can always evict one pod.
    expect(hpa.spec.minReplicas).toBeGreaterThan(one('PodDisruptionBudget').spec.minAvailable);
  });

  it('the grace period outlasts the preStop pause plus SHUTDOWN_TIMEOUT_MS', () => {
    const pod = one('Deployment').spec.template.spec;
    const config = loadConfig(one('ConfigMap').data);
    const preStop = pod.containers[0].lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + config.SHUTDOWN_TIMEOUT_MS / 1000);
  });

  it('runs hardened: non-root (the Dockerfile user), read-only root filesystem with an emptyDir at /tmp, no privileges', () => {
    const pod = one('Deployment').spec.template.spec;
    const container = pod.containers[0];
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    const tmp = container.volumeMounts.find((m: Manifest) => m.mountPath === '/tmp');
    expect(tmp).toBeDefined();
    expect(pod.volumes.find((v: Manifest) => v.name === tmp.name)).toHaveProperty('emptyDir');

    const dockerfile = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
    const final = dockerfile.stages[dockerfile.stages.length - 1];
    const user = final.instructions.filter((i) => i.keyword === 'USER').at(-1)!.args.trim();
    // Numeric, so the kubelet can check runAsNonRoot against the image itself.
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(pod.securityContext.runAsUser).toBe(Number(user.split(':')[0]));
  });

  it('sets CPU and memory requests and limits; the pool follows the CPU limit', () => {
    const container = one('Deployment').spec.template.spec.containers[0];
    for (const kind of ['requests', 'limits']) {
      expect(container.resources[kind].cpu, kind).toBeDefined();
      expect(container.resources[kind].memory, kind).toBeDefined();
    }
    // WORKERS is not pinned: its default reads the CPU quota that limits.cpu sets.
    expect(one('ConfigMap').data).not.toHaveProperty('WORKERS');
  });
});
