{{- define "glance-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "glance-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "glance-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "glance-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "glance-operator.labels" -}}
{{ include "glance-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "glance-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "glance-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "glance-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
What the operator does, and nothing more (read from operator/src): it watches its custom resources, writes
their status and finalizers, server-side-applies what a GlanceService owns, creates migration Jobs and deletes
superseded ones, removes the PodDisruptionBudget below two replicas and the images claim under
deletionPolicy Delete, and records Events. Images read the Secrets and the ConfigMap (CA bundle) their
spec names. Owned Secrets, Services and Deployments go by garbage collection, so
it never deletes them. `update` on the finalizers subresources lets it set blockOwnerDeletion on the objects it owns where the
OwnerReferencesPermissionEnforcement admission plugin is on.
*/}}
{{- define "glance-operator.rules" -}}
- apiGroups: [glance.stackops.dev]
  resources: [glanceservices, images]
  verbs: [get, list, watch, patch]
- apiGroups: [glance.stackops.dev]
  resources: [glanceservices/status, images/status]
  verbs: [patch]
- apiGroups: [glance.stackops.dev]
  resources: [glanceservices/finalizers, images/finalizers]
  verbs: [update]
- apiGroups: ['']
  resources: [secrets, services]
  verbs: [get, list, watch, create, patch]
- apiGroups: ['']
  resources: [configmaps]
  verbs: [get]
{{- if not .Values.watchNamespace }}
# Whether a deleted object's namespace is going too: then cleanup that only a person could unblock is left at once.
# A Role cannot grant it (namespaces are cluster-scoped); without it the operator assumes the namespace stays.
- apiGroups: ['']
  resources: [namespaces]
  verbs: [get]
{{- end }}
- apiGroups: ['']
  resources: [persistentvolumeclaims]
  verbs: [get, create, patch, delete]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create]
{{- end -}}
