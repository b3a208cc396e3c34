import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { OPTIONS, parseCommandLine } from '../../src/config.ts';
import { REPO } from '../helpers/fixtures.ts';

// deploy/kubernetes/tilestamp.yaml as an operator applies it: no cluster here, so each object is
// checked against Kubernetes' own schemas (kubernetes-models), and against what tilestamp needs.
const FILE = join(REPO, 'deploy/kubernetes/tilestamp.yaml');
const docs = parseAllDocuments(readFileSync(FILE, 'utf8')).map((d) => d.toJS() as { kind: string; [key: string]: unknown });
const MODELS = { Deployment, Service, PersistentVolumeClaim, PodDisruptionBudget } as const;
/** TILESTAMP_* variables the image sets (the run stage's ENV lines of the Dockerfile). */
function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  const runStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  return Object.fromEntries([...runStage.matchAll(/\b(TILESTAMP_[A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]]));
}
const one = <K extends keyof typeof MODELS>(kind: K) => {
  const found = docs.filter((d) => d.kind === kind);
  expect(found, kind).toHaveLength(1);
  return new MODELS[kind](found[0] as never) as InstanceType<(typeof MODELS)[K]>;
};

describe('deploy/kubernetes/tilestamp.yaml', () => {
  it('holds only kinds we validate, each valid against the Kubernetes schema', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(['Deployment', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Service']);
    for (const doc of docs)
      expect(() => new MODELS[doc.kind as keyof typeof MODELS](doc as never).validate(), doc.kind).not.toThrow();
  });

  it('fails the schema check on a broken object (the check can fail)', () => {
    const broken = structuredClone(docs.find((d) => d.kind === 'Deployment')) as never as { spec: { replicas: unknown } };
    broken.spec.replicas = 'two';
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas/);
  });

  const deployment = one('Deployment');
  const pod = deployment.spec!.template.spec!;
  const container = pod.containers.find((c) => c.name === 'tilestamp')!;
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));

  it('runs N replicas, each a valid `tilestamp serve` command line with known variables', () => {
    expect(deployment.spec!.replicas).toBeGreaterThanOrEqual(2);
    const known = OPTIONS.map((o) => o.env).filter(Boolean);
    expect(Object.keys(env).filter((name) => !known.includes(name))).toEqual([]);
    const parsed = parseCommandLine(container.args ?? [], env);
    expect(parsed).toMatchObject({ ok: true, command: { name: 'serve' } });
    if (!parsed.ok || parsed.command.name !== 'serve') return;
    const { config } = parsed.command;
    expect(container.ports).toContainEqual({ name: 'http', containerPort: config.port });
    // The shared data volume, read-only, where the server looks for files.
    const mount = container.volumeMounts!.find((m) => m.mountPath === config.dataDir);
    expect(mount?.readOnly).toBe(true);
    const volume = pod.volumes!.find((v) => v.name === mount!.name);
    expect(volume?.persistentVolumeClaim).toEqual({ claimName: one('PersistentVolumeClaim').metadata!.name, readOnly: true });
    expect(pod.securityContext?.runAsUser).toBe(1000); // the image's user, who must be able to read the files
  });

  it('mounts a writable volume at the state dir the container uses (the root file system is read-only)', () => {
    // What the container runs with: the image's environment (Dockerfile ENV), then the manifest's.
    const parsed = parseCommandLine(container.args ?? [], { ...imageEnv(), ...env });
    if (!parsed.ok || parsed.command.name !== 'serve') throw new Error('not a serve command');
    const { stateDir } = parsed.command.config;
    expect(stateDir).toBe(imageEnv().TILESTAMP_STATE_DIR);
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    const mount = container.volumeMounts!.find((m) => m.mountPath === stateDir);
    expect(mount, `a volume mounted at ${stateDir}`).toBeDefined();
    expect(mount!.readOnly ?? false).toBe(false);
    const volume = pod.volumes!.find((v) => v.name === mount!.name)!;
    // Kept across container restarts in the pod, written by uid 1000 (emptyDir is writable by all).
    expect(volume.emptyDir).toBeDefined();
    expect(pod.securityContext?.fsGroup).toBe(1000);
  });

  it('readiness on /ready, liveness on /health, both on the served port', () => {
    expect(container.readinessProbe?.httpGet).toMatchObject({ path: '/ready', port: 'http' });
    expect(container.livenessProbe?.httpGet).toMatchObject({ path: '/health', port: 'http' });
  });

  it('gives a pod more time to stop than its pre-stop pause plus the shutdown deadline, and asks for resources', () => {
    const pause = Number(container.lifecycle?.preStop?.exec?.command?.at(-1));
    expect(pause).toBeGreaterThan(0);
    const parsed = parseCommandLine(container.args ?? [], env);
    if (!parsed.ok || parsed.command.name !== 'serve') throw new Error('not a serve command');
    const drain = parsed.command.config.shutdownTimeoutMs / 1000;
    expect(deployment.spec!.template.spec!.terminationGracePeriodSeconds).toBeGreaterThan(pause + drain);
    expect(container.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources?.limits?.memory).toBeDefined();
  });

  it('a Service and a disruption budget that select the pods', () => {
    const labels = deployment.spec!.template.metadata!.labels!;
    const service = one('Service');
    expect(Object.entries(service.spec!.selector!).every(([k, v]) => labels[k] === v)).toBe(true);
    expect(service.spec!.ports!.map((p) => p.targetPort)).toEqual(['http']);
    const budget = one('PodDisruptionBudget');
    expect(Object.entries(budget.spec!.selector!.matchLabels!).every(([k, v]) => labels[k] === v)).toBe(true);
  });
});
