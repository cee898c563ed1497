{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "hookline.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name. */}}
{{- define "hookline.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hookline.labels" -}}
app.kubernetes.io/name: {{ include "hookline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one role ("serve", "worker", "migrate"): pass (list . "serve"). */}}
{{- define "hookline.selector" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ include "hookline.name" $ctx }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "hookline.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "hookline.secretName" -}}
{{- .Values.existingSecret | default (include "hookline.fullname" .) -}}
{{- end -}}

{{/* The grace period: drain delay + shutdown timeout + margin. */}}
{{- define "hookline.gracePeriod" -}}
{{- add .Values.lifecycle.shutdownTimeoutSeconds .Values.lifecycle.drainDelaySeconds .Values.lifecycle.terminationMarginSeconds -}}
{{- end -}}

{{/* Pod security context: the image's non-root user. */}}
{{- define "hookline.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsGroup }}
fsGroup: {{ .Values.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "hookline.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsGroup }}
capabilities:
  drop: ["ALL"]
{{- end -}}
