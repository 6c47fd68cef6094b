{{/* Names and labels shared by the templates of the operator chart. */}}

{{- define "cogumi-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cogumi-operator.serviceAccountName" -}}
{{- default (include "cogumi-operator.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "cogumi-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cogumi-operator.labels" -}}
{{ include "cogumi-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: cogumi
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The namespaces the operator watches in namespaced mode (the release namespace by default). */}}
{{- define "cogumi-operator.watchNamespaces" -}}
{{- if .Values.watchNamespaces -}}
{{- .Values.watchNamespaces | uniq | toJson -}}
{{- else -}}
{{- list .Release.Namespace | toJson -}}
{{- end -}}
{{- end -}}

{{/* The namespaces that get the workload ServiceAccount and its Role. */}}
{{- define "cogumi-operator.workloadNamespaces" -}}
{{- if .Values.workload.namespaces -}}
{{- .Values.workload.namespaces | uniq | toJson -}}
{{- else if .Values.clusterWide -}}
{{- list .Release.Namespace | toJson -}}
{{- else -}}
{{- include "cogumi-operator.watchNamespaces" . -}}
{{- end -}}
{{- end -}}

{{- define "cogumi-operator.image" -}}
{{- $tag := default .root.Chart.AppVersion .image.tag -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The operator's permissions inside a namespace (a Role per watched namespace, or one ClusterRole).
Each rule names the code that needs it; tests/delivery/test_rbac.py checks them against the code and
runs the operator under exactly these rules.
*/}}
{{- define "cogumi-operator.rules" -}}
# Every kind: kopf lists and watches them (timers per kind, the `resources_by_name` index over the
# category) and patches finalizers and its progress annotations; a Pipeline creates its children.
# `get` and `update` add nothing to list and patch.
- apiGroups: ["cogumi.ai"]
  resources: ["datasets", "basetrainings", "failureanalyses", "compressionruns", "modifiertrainings",
              "routermodels", "metalearnings", "modeldeployments", "evaluations", "pipelines"]
  verbs: ["get", "list", "watch", "create", "patch", "update"]
# The operator is the only writer of status (kube.write_status replaces the status subresource).
- apiGroups: ["cogumi.ai"]
  resources: ["datasets/status", "basetrainings/status", "failureanalyses/status", "compressionruns/status",
              "modifiertrainings/status", "routermodels/status", "metalearnings/status",
              "modeldeployments/status", "evaluations/status", "pipelines/status"]
  verbs: ["update", "patch"]
# What stage Jobs report (the `results_by_owner` index). Deleted by the garbage collector (owner refs).
- apiGroups: ["cogumi.ai"]
  resources: ["stageresults"]
  verbs: ["get", "list", "watch"]
# Stage Jobs: the `jobs_by_owner` index, kube.create_job, kube.delete_job (spec change mid-run).
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
# kopf.event() posts core/v1 Events for phase transitions.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- if .Values.rbac.inferenceServices }}
# ModelDeployment -> KServe InferenceService (deployment_handlers: the services_by_owner index, _apply
# creates then patches, a suspended or deleted deployment's service is deleted).
- apiGroups: ["serving.kserve.io"]
  resources: ["inferenceservices"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
{{- end }}
{{- end -}}
