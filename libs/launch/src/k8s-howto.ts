import { join } from 'node:path';
import { shellQuote } from '@capi/core';
import { DATA_MOUNT, type K8sPlan, runFolderOf } from './k8s-manifests.js';

/** `{{env.NAME}}` names in the pods' flags: the keys their Secret must hold. */
export function envNames(execArgs: string[]): string[] {
  const names = new Set<string>();
  for (const a of execArgs)
    for (const m of a.matchAll(/\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)) names.add(m[1] as string);
  return [...names];
}

/** The steps for this emit, written beside the manifests as HOWTO.txt (kubectl reads only .json/.yaml from DIR). */
export function howTo(p: K8sPlan, dir: string, suite: string, autoId = false): string {
  const q = shellQuote;
  const collect = `${p.name}-collect`;
  const keys = envNames(p.execArgs);
  const secret = p.secrets.length
    ? [
        '# 1. The Secret(s) the pods read their environment from (values never go in the manifests):',
        ...p.secrets.map(
          (s) =>
            `kubectl create secret generic ${q(s)} ${(keys.length ? keys : ['KEY']).map((k) => `--from-literal=${k}=…`).join(' ')}`,
        ),
      ]
    : ['# 1. No --secret given: the pods get no credentials (--secret NAME adds a Secret as environment).'];
  const copyIn =
    p.tests === null
      ? [
          `# 2. The suite is on the volume: copy it there once through the collector pod.`,
          `kubectl apply -f ${q(join(dir, 'collect/pod.json'))} && kubectl wait --for=condition=Ready pod/${collect}`,
          `kubectl exec ${collect} -- mkdir -p ${runFolderOf(p.name)}`,
          `kubectl cp ${q(join(dir, 'collect/tests.ndjson'))} ${collect}:${runFolderOf(p.name)}/tests.ndjson`,
        ]
      : ['# 2. The suite travels in the ConfigMap (configmap.json): nothing to copy.'];
  return `${[
    `# capi: ${p.shards} shards of ${suite} as Kubernetes Indexed Job ${p.name} (docs/capi-launch.md, Kubernetes)`,
    `# Needs PersistentVolumeClaim ${p.pvc} (ReadWriteMany when pods may land on several nodes).`,
    ...secret,
    ...copyIn,
    '# 3. Start it and watch it (server-side: a client-side apply copies a ConfigMap over 256 KiB into an annotation, and fails):',
    `kubectl apply --server-side -f ${q(dir)}`,
    `kubectl get pods -l app.kubernetes.io/instance=${p.name} -w`,
    `kubectl logs -l app.kubernetes.io/instance=${p.name} --prefix --tail 5`,
    `until kubectl get job ${p.name} -o jsonpath='{.status.conditions[*].type}' | grep -qE 'Complete|Failed'; do sleep 10; done`,
    `# 4. Copy the journals out (${DATA_MOUNT} is the volume in both pods) and merge:`,
    `kubectl apply -f ${q(join(dir, 'collect/pod.json'))} && kubectl wait --for=condition=Ready pod/${collect}`,
    `kubectl cp ${collect}:${runFolderOf(p.name)}/results ./${p.name}-results`,
    `kubectl delete pod ${collect}`,
    `capi-merge './${p.name}-results/*.ndjson' --suite ${q(suite)}${autoId ? ' --auto-id' : ''} --junit junit.xml --html report.html`,
    '# 5. Again after a stop or a failure: delete the Job and apply it again; each shard resumes its journal.',
    `kubectl delete job ${p.name} && kubectl apply --server-side -f ${q(dir)}`,
  ].join('\n')}\n`;
}
