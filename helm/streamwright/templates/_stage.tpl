{{/*
The pod template of one stage, shared by its Deployment (stateless, sink) or StatefulSet
(stateful). A sink (kind sink: its own executable) takes flags only: no --stage, no ConfigMap of
STREAMWRIGHT_* options, no state directory; its PostgreSQL password is a mounted Secret file.
Usage: include "streamwright.stagePodTemplate" (dict "root" $ "stage" $st), $st from streamwright.stages
*/}}
{{- define "streamwright.stagePodTemplate" -}}
{{- $root := .root }}
{{- $st := .stage }}
{{- $component := dict "root" $root "component" $st.name }}
{{- $sink := eq $st.kind "sink" }}
metadata:
  labels:
    {{- include "streamwright.componentLabels" $component | nindent 4 }}
    {{- with $root.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- with $root.Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with $st.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- include "streamwright.podSpecCommon" $root | nindent 2 }}
  {{- with $root.Values.topologySpreadConstraints }}
  {{- /* Constraints without a labelSelector spread the stage's own pods. */}}
  {{- $constraints := list }}
  {{- range . }}
  {{- $c := deepCopy . }}
  {{- if not $c.labelSelector }}
  {{- $_ := set $c "labelSelector" (dict "matchLabels" (include "streamwright.componentSelectorLabels" $component | fromYaml)) }}
  {{- end }}
  {{- $constraints = append $constraints $c }}
  {{- end }}
  topologySpreadConstraints:
    {{- toYaml $constraints | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ $st.name }}
      image: {{ include "streamwright.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command:
        - /usr/local/bin/{{ $st.executable }}
      args:
        {{- if $sink }}
        - --metrics-port
        - {{ $root.Values.metrics.port | int64 | quote }}
        - --group-id
        - {{ $st.group }}
        {{- range $st.sinkArgs }}
        - {{ . | quote }}
        {{- end }}
        {{- else }}
        - --stage
        - {{ $st.name }}
        {{- end }}
        {{- with include "streamwright.kafkaArgs" (dict "root" $root "exporter" false) | trim }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- range $st.args }}
        - {{ . | quote }}
        {{- end }}
      {{- if not $sink }}
      envFrom:
        - configMapRef:
            name: {{ include "streamwright.fullname" $root }}-config
      {{- end }}
      {{- $env := include "streamwright.kafkaEnv" (dict "root" $root "exporter" false) | trim }}
      {{- if or $env $st.stageConfig $st.postgres $st.env $sink $st.staticMembership }}
      env:
        {{- if $st.staticMembership }}
        {{- /* The pod's name is stable across restarts: a restarted pod rejoins as the same static member. */}}
        - name: STREAMWRIGHT_GROUP_INSTANCE_ID
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- end }}
        {{- if $sink }}
        - name: KAFKA_BOOTSTRAP_SERVERS
          valueFrom:
            configMapKeyRef:
              name: {{ include "streamwright.fullname" $root }}-config
              key: KAFKA_BOOTSTRAP_SERVERS
        {{- end }}
        {{- with $env }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- if not $sink }}
        {{- range $key, $value := $st.stageConfig }}
        - name: {{ include "streamwright.optionEnv" $key }}
          value: {{ include "streamwright.optionValue" $value | quote }}
        {{- end }}
        {{- end }}
        {{- if $st.postgres }}
        {{- $pg := $root.Values.postgres }}
        - name: POSTGRES_URL
          value: {{ $pg.url | quote }}
        {{- if $pg.userKey }}
        - name: POSTGRES_USER
          valueFrom:
            secretKeyRef:
              name: {{ $pg.existingSecret }}
              key: {{ $pg.userKey }}
        {{- else if $pg.user }}
        - name: POSTGRES_USER
          value: {{ $pg.user | quote }}
        {{- end }}
        {{- if $sink }}
        {{- /* A file, not a variable: the sink reads POSTGRES_PASSWORD_FILE (services/telemetra-sink). */}}
        - name: POSTGRES_PASSWORD_FILE
          value: /etc/streamwright/postgres/{{ $pg.passwordKey }}
        {{- else }}
        - name: POSTGRES_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ $pg.existingSecret }}
              key: {{ $pg.passwordKey }}
        {{- end }}
        {{- end }}
        {{- with $st.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        - name: metrics
          containerPort: {{ $root.Values.metrics.port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: metrics
        {{- toYaml $st.liveness | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: metrics
        {{- toYaml $st.readiness | nindent 8 }}
      {{- with $st.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if $sink }}
        - name: postgres-password
          mountPath: /etc/streamwright/postgres
          readOnly: true
        {{- else }}
        - name: state
          mountPath: /var/lib/streamwright
        {{- end }}
        {{- with include "streamwright.kafkaVolumeMounts" $root | trim }}
        {{- . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ $root.Values.tmpSizeLimit }}
    {{- if $sink }}
    - name: postgres-password
      secret:
        secretName: {{ $root.Values.postgres.existingSecret }}
        items:
          - key: {{ $root.Values.postgres.passwordKey }}
            path: {{ $root.Values.postgres.passwordKey }}
    {{- else if ne $st.kind "stateful" }}
    - name: state
      emptyDir: {}
    {{- end }}
    {{- with include "streamwright.kafkaVolumes" $root | trim }}
    {{- . | nindent 4 }}
    {{- end }}
{{- end }}
