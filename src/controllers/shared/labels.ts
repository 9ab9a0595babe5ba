// The label every Kubernetes object the operator writes carries (Deployments, ServiceAccounts,
// ConfigMaps, ...): its informers for owned kinds watch only what carries it, so the cluster's
// other objects cost no memory.
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'pubsub-operator';
export const MANAGED_BY_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
