// The environment of a service's container as the operator rendered it in its Deployment, resolved
// as the kubelet would (Secret and ConfigMap keys, pod fields, $(VAR) references), for a local
// process of that service: `make run-services` and the integration tests start them so.

/** One entry of a container's env. */
export interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

/** Where valueFrom entries are looked up; undefined when there is no such object or field. */
export interface EnvSources {
  secret(name: string): Readonly<Record<string, string>> | undefined;
  configMap(name: string): Readonly<Record<string, string>> | undefined;
  field(path: string): string | undefined;
}

export interface ResolvedEnv {
  env: Record<string, string>;
  /** Entries whose value could not be found, each with the reason. */
  unresolved: string[];
}

const REFERENCE = /\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g;

/**
 * The values of `entries`, in order: a literal's $(NAME) is replaced by an earlier entry's value
 * (left as it is when there is none) and $$ stands for $, as in a pod.
 */
export function resolveEnv(entries: readonly EnvEntry[], sources: EnvSources): ResolvedEnv {
  const env: Record<string, string> = {};
  const unresolved: string[] = [];
  for (const entry of entries) {
    const from = entry.valueFrom;
    if (!from) {
      env[entry.name] = (entry.value ?? '').replace(REFERENCE, (match, name: string | undefined) =>
        name === undefined ? '$' : (env[name] ?? match),
      );
      continue;
    }
    const ref = from.secretKeyRef ?? from.configMapKeyRef;
    const kind = from.secretKeyRef ? 'Secret' : 'ConfigMap';
    const value = ref
      ? (from.secretKeyRef ? sources.secret(ref.name) : sources.configMap(ref.name))?.[ref.key]
      : from.fieldRef && sources.field(from.fieldRef.fieldPath);
    if (value !== undefined) env[entry.name] = value;
    else if (ref && !ref.optional)
      unresolved.push(`${entry.name}: ${kind} ${ref.name} has no key ${ref.key}`);
    else if (from.fieldRef) unresolved.push(`${entry.name}: no local value for ${from.fieldRef.fieldPath}`);
  }
  return { env, unresolved };
}

/** Runs kubectl with these arguments and returns its stdout; throws with its stderr. */
export type Kubectl = (args: string[]) => string;

interface DeploymentJson {
  spec: {
    template: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec: { serviceAccountName?: string; containers: { env?: EnvEntry[] }[] };
    };
  };
}

function getJson<T>(kubectl: Kubectl, namespace: string, kind: string, name: string): T | undefined {
  try {
    return JSON.parse(kubectl(['get', '-n', namespace, kind, name, '-o', 'json'])) as T;
  } catch (error) {
    if (error instanceof Error && /NotFound|not found/.test(error.message)) return undefined;
    throw error;
  }
}

/** The pod fields a local process can stand for. */
function podField(namespace: string, name: string, template: DeploymentJson['spec']['template']) {
  return (path: string): string | undefined => {
    const keyed = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
    if (keyed) return template.metadata?.[keyed[1] as 'labels' | 'annotations']?.[keyed[2] ?? ''];
    const fields: Record<string, string | undefined> = {
      'metadata.namespace': namespace,
      'metadata.name': `${name}-local`,
      'spec.serviceAccountName': template.spec.serviceAccountName,
      'spec.nodeName': 'localhost',
      'status.podIP': '127.0.0.1',
      'status.podIPs': '127.0.0.1',
      'status.hostIP': '127.0.0.1',
      'status.hostIPs': '127.0.0.1',
    };
    return fields[path];
  };
}

/**
 * The environment of the first container of Deployment `name`, resolved against the namespace's
 * Secrets and ConfigMaps; undefined while the Deployment does not exist.
 */
export function deploymentEnv(kubectl: Kubectl, namespace: string, name: string): ResolvedEnv | undefined {
  const deployment = getJson<DeploymentJson>(kubectl, namespace, 'deployment', name);
  if (!deployment) return undefined;
  const { template } = deployment.spec;
  const data = (kind: 'secret' | 'configmap', object: string) =>
    getJson<{ data?: Record<string, string> }>(kubectl, namespace, kind, object)?.data ?? undefined;
  return resolveEnv(template.spec.containers[0]?.env ?? [], {
    secret: (secret) => {
      const encoded = data('secret', secret);
      return (
        encoded &&
        Object.fromEntries(
          Object.entries(encoded).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
        )
      );
    },
    configMap: (configMap) => data('configmap', configMap),
    field: podField(namespace, name, template),
  });
}
