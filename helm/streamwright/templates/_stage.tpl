{{/*
The pod template of one stage, shared by its Deployment (stateless) or StatefulSet (stateful).
Usage: include "streamwright.stagePodTemplate" (dict "root" $ "stage" $st), $st from streamwright.stages
*/}}
{{- define "streamwright.stagePodTemplate" -}}
{{- $root := .root }}
{{- $st := .stage }}
{{- $component := dict "root" $root "component" $st.name }}
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
        - /usr/local/bin/{{ include "streamwright.executable" $root }}
      args:
        - --stage
        - {{ $st.name }}
        {{- with include "streamwright.kafkaArgs" (dict "root" $root "exporter" false) | trim }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- range $st.args }}
        - {{ . | quote }}
        {{- end }}
      envFrom:
        - configMapRef:
            name: {{ include "streamwright.fullname" $root }}-config
      {{- $env := include "streamwright.kafkaEnv" (dict "root" $root "exporter" false) | trim }}
      {{- if or $env $st.stageConfig $st.postgres $st.env }}
      env:
        {{- with $env }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- range $key, $value := $st.stageConfig }}
        - name: {{ include "streamwright.optionEnv" $key }}
          value: {{ include "streamwright.optionValue" $value | quote }}
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
        {{- else }}
        - name: POSTGRES_USER
          value: {{ $pg.user | quote }}
        {{- end }}
        - name: POSTGRES_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ $pg.existingSecret }}
              key: {{ $pg.passwordKey }}
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
        - name: state
          mountPath: /var/lib/streamwright
        {{- with include "streamwright.kafkaVolumeMounts" $root | trim }}
        {{- . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ $root.Values.tmpSizeLimit }}
    {{- if ne $st.kind "stateful" }}
    - name: state
      emptyDir: {}
    {{- end }}
    {{- with include "streamwright.kafkaVolumes" $root | trim }}
    {{- . | nindent 4 }}
    {{- end }}
{{- end }}
