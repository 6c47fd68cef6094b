{{/* Helpers of the cogumi-system chart. */}}

{{- define "cogumi-system.name" -}}
{{- default .Release.Name .Values.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cogumi-system.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: cogumi
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
cogumi.ai/preset: {{ .Values.preset }}
{{- end -}}

{{/* A model reference (uri or fromResource, optional format) as JSON, without empty fields. */}}
{{- define "cogumi-system.ref" -}}
{{- $ref := dict -}}
{{- range $key := list "uri" "fromResource" "format" -}}
{{- with (get $ $key) }}{{ $_ := set $ref $key . }}{{ end -}}
{{- end -}}
{{- toJson $ref -}}
{{- end -}}
