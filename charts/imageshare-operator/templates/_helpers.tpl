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

{{/* The --secret-namespaces flag: "*" (cluster-wide), a comma list, or empty (no Secret access). */}}
{{- define "imageshare-operator.secretNamespaces" -}}
{{- if .Values.secretRefAccess.clusterWide }}*{{ else }}{{ join "," .Values.secretRefAccess.namespaces }}{{ end }}
{{- end }}

{{/* Fails the render for combinations the schema cannot express. */}}
{{- define "imageshare-operator.validate" -}}
{{- if hasKey .Values.rbac "secretAccess" }}
{{- fail "rbac.secretAccess was removed: Secret access is off by default; list the namespaces where spec.credentials.secretRef may be used in secretRefAccess.namespaces, or set secretRefAccess.clusterWide=true" }}
{{- end }}
{{- if and .Values.secretRefAccess.clusterWide .Values.secretRefAccess.namespaces }}
{{- fail "secretRefAccess.clusterWide=true already covers every namespace: leave secretRefAccess.namespaces empty" }}
{{- end }}
{{- with .Values.operator.watchNamespaces }}
{{- range $.Values.secretRefAccess.namespaces }}
{{- if not (has . $.Values.operator.watchNamespaces) }}
{{- fail (printf "secretRefAccess.namespaces lists %s, which is not in operator.watchNamespaces: the operator would never see an ImageShare there" .) }}
{{- end }}
{{- end }}
{{- end }}

{{- if and .Values.credentials.existingSecret .Values.credentials.rrsa.enabled }}
{{- fail "credentials.existingSecret and credentials.rrsa.enabled are mutually exclusive: pick one source for the operator's own identity" }}
{{- end }}
{{- end }}
