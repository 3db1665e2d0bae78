{{/* The chart's names and labels. */}}
{{- define "fleet.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fleet.labels" -}}
app.kubernetes.io/part-of: {{ include "fleet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one service: pass (dict "root" $ "key" $key "svc" $svc). */}}
{{- define "fleet.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .svc.name }}
{{- end -}}

{{- define "fleet.secretName" -}}
{{- default (printf "%s-secrets" .Release.Name) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The URL the backend reaches a service at, by its values key. */}}
{{- define "fleet.url" -}}
{{- $svc := index .root.Values.services .key -}}
http://{{ $svc.name }}:{{ $svc.port }}
{{- end -}}
