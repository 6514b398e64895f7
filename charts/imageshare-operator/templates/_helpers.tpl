{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "imageshare-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name; the release name alone when it already contains the chart name. */}}
{{- define "imageshare-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "imageshare-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable across upgrades, so they never include versions. */}}
{{- define "imageshare-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "imageshare-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "imageshare-operator.labels" -}}
helm.sh/chart: {{ include "imageshare-operator.chart" . }}
{{ include "imageshare-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: imageshare-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "imageshare-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "imageshare-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "imageshare-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Leader election is forced on with more than one replica: two active reconcilers would fight over the cloud. */}}
{{- define "imageshare-operator.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ else }}false{{ end }}
{{- end }}

{{/* Fails the render for combinations the schema cannot express. */}}
{{- define "imageshare-operator.validate" -}}
{{- if and (eq .Values.rbac.secretAccess "watchedNamespaces") (empty .Values.operator.watchNamespaces) }}
{{- fail "rbac.secretAccess=watchedNamespaces needs operator.watchNamespaces: with an empty list the operator watches every namespace, so use rbac.secretAccess=cluster (or none)" }}
{{- end }}
{{- if and .Values.credentials.existingSecret .Values.credentials.rrsa.enabled }}
{{- fail "credentials.existingSecret and credentials.rrsa.enabled are mutually exclusive: pick one source for the operator's own identity" }}
{{- end }}
{{- end }}
