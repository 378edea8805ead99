{{/* Names and labels shared by every template. */}}
{{- define "relay-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "relay-agent.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "relay-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "relay-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "relay-agent.labels" -}}
{{ include "relay-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The ConfigMap holding allowlist.toml, if any. */}}
{{- define "relay-agent.allowlistConfigMap" -}}
{{- if .Values.allowlist.existingConfigMap -}}
{{- .Values.allowlist.existingConfigMap -}}
{{- else if .Values.allowlist.rules -}}
{{- printf "%s-allowlist" (include "relay-agent.fullname" .) -}}
{{- end -}}
{{- end -}}
