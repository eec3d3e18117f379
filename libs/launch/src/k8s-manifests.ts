import { basename, extname } from 'node:path';
import { ratePerHour, UsageError } from '@capi/core';

/**
 * The Kubernetes objects of `capi-launch --emit k8s` (docs/capi-launch.md "Kubernetes"),
 * as plain JSON: kubectl reads .json as well as YAML, so no YAML writer is needed.
 */
export interface K8sPlan {
  /** The Job's name; the ConfigMap and the collector pod are named after it. */
  name: string;
  image: string;
  /** `completions`: pod K of the Job runs `--shard K/shards`. */
  shards: number;
  parallelism: number;
  backoffLimitPerIndex: number;
  /** The PersistentVolumeClaim the journals (and a suite too big for a ConfigMap) live on. */
  pvc: string;
  /** Secrets whose keys become the pods' environment (`{{env.NAME}}` in headers). */
  secrets: string[];
  /** capi-exec flags of every pod: base URL, headers, timeouts, concurrency, the pod's share of the rate. */
  execArgs: string[];
  /** The test records for the ConfigMap; null when they are on the volume (`--suite-on-pvc`). */
  tests: string | null;
}

/** Where things are inside a pod. */
export const DATA_MOUNT = '/capi/data';
const SUITE_MOUNT = '/capi/suite';
const CONTAINER = 'capi-exec';

export const runFolderOf = (name: string) => `${DATA_MOUNT}/${name}`;
const suitePathOf = (p: Pick<K8sPlan, 'name' | 'tests'>) =>
  p.tests === null ? `${runFolderOf(p.name)}/tests.ndjson` : `${SUITE_MOUNT}/tests.ndjson`;

/** A DNS-1123 label short enough that `NAME-INDEX` (each pod's hostname) and `NAME-collect` stay one too. */
const NAME = /^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$/;

export function checkK8sName(name: string, flag: string): string {
  if (!NAME.test(name))
    throw new UsageError(
      `${flag} takes a Kubernetes name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 52 characters (got "${name}")`,
    );
  return name;
}

/** `capi-` and the suite's file name, made a Kubernetes name (`Night Suite.csv` → `capi-night-suite`). */
export function jobNameFor(suite: string): string {
  const stem = basename(suite, extname(suite))
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 46)
    .replace(/-+$/, '');
  return `capi-${stem || 'suite'}`;
}

/**
 * kubelet expands `$(VAR)` in a container's command and args, and reads `$$` as `$`: every
 * `$` is doubled so that a header like `X-Price: $(HOME)` reaches capi-exec as written.
 */
export const escapeKubelet = (word: string): string => word.replaceAll('$', '$$$$');

/**
 * The pod's shell step: the journal of index K is `shard-K.ndjson` on the volume, so a
 * retried pod resumes it. The lock a failed pod of the same index left is removed first:
 * capi-exec counts a lock written on another host as held, and podReplacementPolicy
 * `Failed` (the only one allowed with a podFailurePolicy) starts the new pod only after
 * the old one is gone. The flags come as "$@", never parsed by the shell.
 */
function podScript(p: K8sPlan): string {
  const width = String(p.shards).length;
  const results = `${runFolderOf(p.name)}/results`;
  return [
    'set -e',
    `K=$(printf '%0${width}d' $((JOB_COMPLETION_INDEX + 1)))`,
    `J=${results}/shard-$K.ndjson`,
    `mkdir -p ${results}`,
    'rm -f "$J.lock"',
    `exec capi-exec --in ${suitePathOf(p)} --shard auto --journal "$J" --batch "shard-$K" --run-id ${p.name} "$@" > /dev/null`,
  ].join('\n');
}

const labels = (name: string) => ({ 'app.kubernetes.io/name': 'capi', 'app.kubernetes.io/instance': name });

function podTemplate(p: K8sPlan) {
  const volumes: object[] = [{ name: 'data', persistentVolumeClaim: { claimName: p.pvc } }];
  const mounts: object[] = [{ name: 'data', mountPath: DATA_MOUNT }];
  if (p.tests !== null) {
    volumes.push({ name: 'suite', configMap: { name: `${p.name}-suite` } });
    mounts.push({ name: 'suite', mountPath: SUITE_MOUNT, readOnly: true });
  }
  const container = {
    name: CONTAINER,
    image: p.image,
    command: ['sh', '-c', escapeKubelet(podScript(p)), 'capi-exec', ...p.execArgs.map(escapeKubelet)],
    env: [
      // the Job controller sets it too; said here so the manifest reads whole
      {
        name: 'JOB_COMPLETION_INDEX',
        valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
      },
      { name: 'CAPI_SHARD_TOTAL', value: String(p.shards) },
    ],
    ...(p.secrets.length ? { envFrom: p.secrets.map((name) => ({ secretRef: { name } })) } : {}),
    volumeMounts: mounts,
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  };
  return {
    metadata: { labels: labels(p.name) },
    spec: {
      restartPolicy: 'Never',
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      containers: [container],
      volumes,
    },
  };
}

/**
 * Exit codes as capi-exec means them: 2 (bad input) fails the whole Job, since every
 * shard would meet it; 1 (tests failed) fails the index without a retry, since its journal
 * is complete; 3 (could not run) and crashes are retried up to backoffLimitPerIndex,
 * resuming the journal; an eviction or preemption is not counted at all.
 */
export function jobManifest(p: K8sPlan) {
  const onExit = (action: string, code: number) => ({
    action,
    onExitCodes: { containerName: CONTAINER, operator: 'In', values: [code] },
  });
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: p.name, labels: labels(p.name) },
    spec: {
      completionMode: 'Indexed',
      completions: p.shards,
      parallelism: p.parallelism,
      backoffLimitPerIndex: p.backoffLimitPerIndex,
      podReplacementPolicy: 'Failed',
      podFailurePolicy: {
        rules: [
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          onExit('FailJob', 2),
          onExit('FailIndex', 1),
        ],
      },
      template: podTemplate(p),
    },
  };
}

export function configMapManifest(p: K8sPlan & { tests: string }) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${p.name}-suite`, labels: labels(p.name) },
    data: { 'tests.ndjson': p.tests },
  };
}

/** A pod that holds the volume for `kubectl cp`: journals out, a big suite in. Not applied with the Job. */
export function collectorManifest(p: K8sPlan) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${p.name}-collect`, labels: labels(p.name) },
    spec: {
      restartPolicy: 'Never',
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'collect',
          image: p.image,
          command: ['sleep', '3600'],
          volumeMounts: [{ name: 'data', mountPath: DATA_MOUNT }],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: p.pvc } }],
    },
  };
}

/** `--rate` of the whole Job → each pod's share: at most `parallelism` pods run at once. */
export function podRate(rate: string, parallelism: number): string {
  const share = ratePerHour(rate) / parallelism;
  if (+share.toFixed(6) === 0)
    throw new UsageError(`--rate ${rate} shared by ${parallelism} pods is less than one test an hour each`);
  // per hour keeps small shares exact enough (capi-exec takes decimals)
  return share >= 3600 ? `${+(share / 3600).toFixed(6)}/s` : `${+share.toFixed(6)}/h`;
}
