{{/*
The operator's permissions, in one place: the ClusterRole (all namespaces), the per-namespace
Roles (watchNamespaces) and config/rbac (rendered from this chart by `make config-from-chart`)
all take their rules from here. docs/install.md explains each rule.
*/}}

{{/* What the operator does in a namespace it reconciles. */}}
{{- define "pubsub-operator.reconcileRules" -}}
# Its own kinds: watched, finalizers added and removed with JSON patches, status written with
# server-side apply. It never creates or deletes them.
- apiGroups: [pubsub.ecommerce.io]
  resources: [eventtopics, consumerqueues, ecommerceservices]
  verbs: [get, list, watch, patch, update]
- apiGroups: [pubsub.ecommerce.io]
  resources: [eventtopics/status, consumerqueues/status, ecommerceservices/status]
  verbs: [patch, update]
# Owner references with blockOwnerDeletion need update on the owner's finalizers subresource
# where the OwnerReferencesPermissionEnforcement admission plugin is on.
- apiGroups: [pubsub.ecommerce.io]
  resources: [eventtopics/finalizers, consumerqueues/finalizers, ecommerceservices/finalizers]
  verbs: [patch, update]
# What an EcommerceService becomes, written with server-side apply and owned by it.
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, update, delete]
# The builtin queue-depth scaler sets the replica count.
- apiGroups: [apps]
  resources: [deployments/scale]
  verbs: [patch]
- apiGroups: [""]
  resources: [services, serviceaccounts]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [keda.sh]
  resources: [scaledobjects, triggerauthentications]
  verbs: [get, list, watch, create, patch, update, delete]
# Connection-details ConfigMaps of EventTopics and ConsumerQueues (spec.connectionConfigMap):
# written with server-side apply and owned by their object; get to see whether a ConfigMap of that
# name is someone else's, delete when the spec names another one.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, patch, update, delete]
# Events about the objects it reconciles, and their repeat counts.
- apiGroups: [events.k8s.io, ""]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* Leader election: the one Lease, in the release namespace only. */}}
{{- define "pubsub-operator.leaseRules" -}}
# create cannot be limited to a name (the object does not exist yet); get and update can.
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [{{ include "pubsub-operator.leaseName" . | quote }}]
  verbs: [get, update]
{{- end }}
