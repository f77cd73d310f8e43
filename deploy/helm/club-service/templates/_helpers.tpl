{{/* The service's name: booking, reception, crm or hr (or console). */}}
{{- define "club.name" -}}
{{- required "service.name is required: booking, reception, crm, hr or console" .Values.service.name -}}
{{- end -}}

{{/* The web console (services/console) owns no data: no database, no Kafka, no Secret, no
     Jobs, and one replica (its sessions live in its memory). */}}
{{- define "club.isConsole" -}}
{{- if eq (include "club.name" .) "console" }}true{{ end -}}
{{- end -}}

{{/* How many pods serve: replicaCount, except the console's one. */}}
{{- define "club.replicas" -}}
{{- if include "club.isConsole" . }}1{{ else }}{{ .Values.replicaCount }}{{ end -}}
{{- end -}}

{{/* Environment variable prefix of the service (BOOKING, RECEPTION, CRM, HR). */}}
{{- define "club.prefix" -}}
{{- include "club.name" . | upper -}}
{{- end -}}

{{- define "club.fullname" -}}
{{- default (printf "club-%s" (include "club.name" .)) .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "club.image" -}}
{{- $repository := required "image.repository is required: the service's image name" .Values.image.repository -}}
{{- with .Values.image.registry }}{{ trimSuffix "/" . }}/{{ end -}}
{{- $repository }}:{{ default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "club.secretName" -}}
{{- required "secrets.name is required: an existing Secret with the database URL and the JWT secret" .Values.secrets.name -}}
{{- end -}}

{{/* Who the object belongs to; each object adds its app.kubernetes.io/component. */}}
{{- define "club.baseLabels" -}}
app.kubernetes.io/name: {{ include "club.fullname" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The serving pods only (not the Jobs' pods), for the Deployment, Service and PDB. */}}
{{- define "club.selectorLabels" -}}
{{ include "club.baseLabels" . }}
app.kubernetes.io/component: service
{{- end -}}

{{- define "club.labels" -}}
{{ include "club.baseLabels" . }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.image.tag | quote }}
app.kubernetes.io/part-of: club-service-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "club.usesJwtSecret" -}}
{{- if and (hasPrefix "HS" (.Values.settings.JWT_ALGORITHM | default "HS256")) (ne (.Values.settings.ENVIRONMENT | default "production") "production") }}true{{ end -}}
{{- end -}}

{{- define "club.usesSasl" -}}
{{- if hasPrefix "SASL" (.Values.settings.KAFKA_SECURITY_PROTOCOL | default "PLAINTEXT") }}true{{ end -}}
{{- end -}}

{{/* Pod-level hardening shared by the Deployment and the Jobs. */}}
{{- define "club.podSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.runAsUser }}
runAsUser: {{ . }}
{{- end }}
{{- with .Values.runAsGroup }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level hardening: not configurable on purpose (tests/deploy checks it). */}}
{{- define "club.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* The service's secrets, as <PREFIX>_* variables read from the existing Secret. */}}
{{- define "club.secretEnv" -}}
{{- $prefix := include "club.prefix" . -}}
{{- $secret := include "club.secretName" . -}}
- name: {{ $prefix }}_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secrets.databaseUrlKey }}
{{- if include "club.usesJwtSecret" . }}
- name: {{ $prefix }}_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secrets.jwtSecretKey }}
{{- end }}
{{- range $name, $key := (.Values.secrets.extra | default dict) }}
- name: {{ $prefix }}_{{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- if include "club.usesSasl" . }}
- name: {{ $prefix }}_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secrets.kafkaSaslUsernameKey }}
- name: {{ $prefix }}_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.secrets.kafkaSaslPasswordKey }}
{{- end }}
{{- end -}}

{{/* /tmp is the only writable path. */}}
{{- define "club.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}
