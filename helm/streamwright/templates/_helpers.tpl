{{/*
Names, labels and the per-stage settings every template shares.
*/}}

{{- define "streamwright.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-wide prefix of every object name (<release>-streamwright unless the release name already says streamwright). */}}
{{- define "streamwright.fullname" -}}
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

{{- define "streamwright.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The application id: prefix of the consumer groups, internal topics and state. */}}
{{- define "streamwright.applicationId" -}}
{{- default .Values.topology .Values.applicationId }}
{{- end }}

{{- define "streamwright.executable" -}}
{{- default (printf "streamwright-%s" .Values.topology) .Values.executable }}
{{- end }}

{{- define "streamwright.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "streamwright.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamwright.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object; stage objects add app.kubernetes.io/component. */}}
{{- define "streamwright.labels" -}}
helm.sh/chart: {{ include "streamwright.chart" . }}
{{ include "streamwright.selectorLabels" . }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: {{ include "streamwright.applicationId" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Usage: include "streamwright.componentLabels" (dict "root" $ "component" "parse") */}}
{{- define "streamwright.componentLabels" -}}
{{ include "streamwright.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "streamwright.componentSelectorLabels" -}}
{{ include "streamwright.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "streamwright.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "streamwright.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
What the chart knows about each topology, from files/catalogue.yaml (generated from topologies/ by
`streamwright list --helm`; tests/helm/run.sh checks it is current): its stages in order, their kinds, the topic each
stage consumes (inputTopic: KEDA scales on its lag) and any further topics it consumes
(moreInputTopics, option: default; the lag exporter watches them all). A stage of kind sink runs
its own executable with flags only (group <app>-sink).
*/}}
{{- define "streamwright.catalogue" -}}
{{- $app := include "streamwright.applicationId" . }}
{{- (.Files.Get "files/catalogue.yaml" | replace "<app>" $app | fromYaml).catalogue | toYaml }}
{{- end }}

{{/*
Per topology, from the same file: the options every stage needs (requiredConfig: each with what to
give), and how the load generator runs (its --mode, and the flags of further input topics).
*/}}
{{- define "streamwright.topologyInfo" -}}
{{- (.Files.Get "files/catalogue.yaml" | fromYaml).info | toYaml }}
{{- end }}

{{/*
Options of streamwright-telemetra-sink that the chart passes as flags (the sink reads no
STREAMWRIGHT_* variables): camelCase name -> flag. summaryTopic, momentsTopic, logLevel and shutdownTimeout also
come from the chart-wide `config`, so the sink reads what the aggregate writes.
*/}}
{{- define "streamwright.sinkOptions" -}}
logLevel: --log-level
summaryTopic: --summary-topic
momentsTopic: --moments-topic
batchRows: --batch-rows
batchLinger: --batch-linger
maxBackoff: --max-backoff
dbCheckInterval: --db-check-interval
shutdownTimeout: --shutdown-timeout
{{- end }}

{{/* camelCase option name -> environment variable (windowSize -> STREAMWRIGHT_WINDOW_SIZE). */}}
{{- define "streamwright.optionEnv" -}}
{{- printf "STREAMWRIGHT_%s" (regexReplaceAll "([a-z0-9])([A-Z])" . "${1}_${2}" | upper) }}
{{- end }}

{{/* An option value as the string the service parses (integers stay integers: no 1e+06). */}}
{{- define "streamwright.optionValue" -}}
{{- if kindIs "float64" . }}{{ int64 . }}{{ else }}{{ toString . }}{{ end }}
{{- end }}

{{/* A duration ("500ms", "30s", "5m", "1h") in milliseconds. */}}
{{- define "streamwright.durationMs" -}}
{{- $d := toString . }}
{{- $n := regexFind "^[0-9]+" $d | default "0" | int64 }}
{{- $unit := regexReplaceAll "^[0-9]+" $d "" }}
{{- $mult := get (dict "" 1 "ms" 1 "s" 1000 "m" 60000 "min" 60000 "h" 3600000) $unit | default 1 }}
{{- mul $n $mult }}
{{- end }}

{{/*
The stages, resolved: each entry of .Values.stages over stageDefaults.<kind> and the chart-wide
settings, plus the names the templates need. An empty list means every stage of the topology
with its defaults. An entry without a name is the topology's stage at the same position (so
`--set stages[0].replicas=3`, which replaces the whole list, still works), and without a kind
takes the topology's kind for it.
Usage: range $st := (include "streamwright.stages" $ | fromYaml).stages
*/}}
{{- define "streamwright.stages" -}}
{{- $root := . }}
{{- $fullname := include "streamwright.fullname" $root }}
{{- $catalogue := get (include "streamwright.catalogue" $root | fromYaml) $root.Values.topology | default list }}
{{- $sinkOptions := include "streamwright.sinkOptions" $root | fromYaml }}
{{- $list := $root.Values.stages | default list }}
{{- if not $list }}
{{- range $catalogue }}{{ $list = append $list (dict "name" .name) }}{{ end }}
{{- end }}
stages:
{{- range $i, $raw := $list }}
{{- $s := deepCopy ($raw | default dict) }}
{{- if and (not $s.name) (lt $i (len $catalogue)) }}
{{- $_ := set $s "name" (index $catalogue $i).name }}
{{- end }}
{{- if not $s.name }}
{{- fail (printf "stages[%d].name is required (topology %s has no stage at this position)" $i $root.Values.topology) }}
{{- end }}
{{- $cat := dict }}
{{- range $catalogue }}{{ if eq .name $s.name }}{{ $cat = . }}{{ end }}{{ end }}
{{- if and (not $s.kind) $cat.kind }}
{{- $_ := set $s "kind" $cat.kind }}
{{- end }}
{{- if not $s.kind }}
{{- fail (printf "stages[%d].kind (stateless, stateful or sink) is required for stage %s" $i $s.name) }}
{{- end }}
{{- $defaults := get ($root.Values.stageDefaults | default dict) $s.kind | default dict }}
{{- /* Overlays are shallow `set` loops: mergeOverwrite would not let false or 0 override. */}}
{{- $keda := pick $root.Values.keda "enabled" "lagThreshold" "minReplicas" "maxReplicas" "pollingInterval" "cooldownPeriod" }}
{{- /* A stage's replicas are KEDA's floor unless its keda block sets minReplicas. */}}
{{- if hasKey $s "replicas" }}{{ $_ := set $keda "minReplicas" $s.replicas }}{{ end }}
{{- range $k, $v := $s.keda | default dict }}{{ $_ := set $keda $k $v }}{{ end }}
{{- $liveness := deepCopy $root.Values.probes.liveness }}
{{- if eq $s.kind "stateful" }}
{{- range $k, $v := $root.Values.probes.statefulLiveness | default dict }}{{ $_ := set $liveness $k $v }}{{ end }}
{{- end }}
{{- range $k, $v := ($s.probes | default dict).liveness | default dict }}{{ $_ := set $liveness $k $v }}{{ end }}
{{- $readiness := deepCopy $root.Values.probes.readiness }}
{{- range $k, $v := ($s.probes | default dict).readiness | default dict }}{{ $_ := set $readiness $k $v }}{{ end }}
{{- $storage := dict "size" "10Gi" "storageClassName" "" "accessModes" (list "ReadWriteOnce") }}
{{- range $k, $v := $defaults.storage | default dict }}{{ $_ := set $storage $k $v }}{{ end }}
{{- range $k, $v := $s.storage | default dict }}{{ $_ := set $storage $k $v }}{{ end }}
{{- $pdb := dict "enabled" true }}
{{- $stagePdb := $s.pdb | default dict }}
{{- range $k, $v := $defaults.pdb | default dict }}
{{- /* A stage that sets one budget replaces the default's (maxUnavailable and minAvailable exclude each other). */}}
{{- if not (and (or (hasKey $stagePdb "maxUnavailable") (hasKey $stagePdb "minAvailable")) (has $k (list "maxUnavailable" "minAvailable"))) }}
{{- $_ := set $pdb $k $v }}
{{- end }}
{{- end }}
{{- range $k, $v := $stagePdb }}{{ $_ := set $pdb $k $v }}{{ end }}
{{- if and (not (hasKey $pdb "maxUnavailable")) (not (hasKey $pdb "minAvailable")) }}
{{- $_ := set $pdb "maxUnavailable" 1 }}
{{- end }}
{{- /* A sink takes from the chart-wide config only the options it has (topics, log level). */}}
{{- $config := eq $s.kind "sink" | ternary (pick $root.Values.config "logLevel" "summaryTopic" "momentsTopic") (deepCopy $root.Values.config) }}
{{- range $k, $v := $s.config | default dict }}{{ $_ := set $config $k $v }}{{ end }}
{{- $topic := $s.inputTopic }}
{{- if and (not $topic) $cat.inputTopicOption }}
{{- $topic = get $config $cat.inputTopicOption }}
{{- end }}
{{- $topic = $topic | default $cat.inputTopic | default "" }}
{{- /* Every topic the stage consumes (the lag exporter watches them all). */}}
{{- $topics := list }}
{{- if $topic }}{{ $topics = append $topics $topic }}{{ end }}
{{- range $option, $default := $cat.moreInputTopics | default dict }}
{{- $topics = append $topics (get $config $option | default $default) }}
{{- end }}
{{- $sinkArgs := list }}
{{- if eq $s.kind "sink" }}
{{- range $k, $v := $config }}
{{- if hasKey $sinkOptions $k }}{{ $sinkArgs = concat $sinkArgs (list (get $sinkOptions $k) (include "streamwright.optionValue" $v)) }}{{ end }}
{{- end }}
{{- end }}
  - index: {{ $i }}
    name: {{ $s.name }}
    kind: {{ $s.kind }}
    workload: {{ ternary "StatefulSet" "Deployment" (eq $s.kind "stateful") }}
    executable: {{ $cat.executable | default (include "streamwright.executable" $root) }}
    resourceName: {{ printf "%s-%s" $fullname $s.name }}
    metricsService: {{ printf "%s-%s-metrics" $fullname $s.name }}
    headlessService: {{ printf "%s-%s-headless" $fullname $s.name }}
    group: {{ printf "%s-%s" (include "streamwright.applicationId" $root) $s.name }}
    replicas: {{ hasKey $s "replicas" | ternary $s.replicas 1 }}
    partitions: {{ $s.partitions | default 0 }}
    inputTopic: {{ $topic | quote }}
    inputTopics: {{ join "," $topics | quote }}
    catalogueKind: {{ $cat.kind | default "" | quote }}
    hasStorage: {{ hasKey $s "storage" }}
    {{- /* A stage's own setting wins, then its kind's default (false must be able to override). */}}
    staticMembership: {{ and (eq $s.kind "stateful") (hasKey $s "staticMembership" | ternary $s.staticMembership (hasKey $defaults "staticMembership" | ternary $defaults.staticMembership false)) }}
    postgres: {{ or $s.postgres (eq $s.kind "sink") }}
    resources:
      {{- toYaml ($s.resources | default $defaults.resources | default dict) | nindent 6 }}
    stageConfig:
      {{- toYaml ($s.config | default dict) | nindent 6 }}
    config:
      {{- toYaml $config | nindent 6 }}
    env:
      {{- toYaml ($s.env | default list) | nindent 6 }}
    args:
      {{- toYaml ($s.args | default list) | nindent 6 }}
    sinkArgs:
      {{- toYaml $sinkArgs | nindent 6 }}
    podAnnotations:
      {{- toYaml ($s.podAnnotations | default dict) | nindent 6 }}
    keda:
      {{- toYaml $keda | nindent 6 }}
    liveness:
      {{- toYaml $liveness | nindent 6 }}
    readiness:
      {{- toYaml $readiness | nindent 6 }}
    storage:
      {{- toYaml $storage | nindent 6 }}
    pdb:
      {{- toYaml $pdb | nindent 6 }}
{{- end }}
{{- end }}

{{/* security.protocol for the Kafka settings, or empty for PLAINTEXT. */}}
{{- define "streamwright.securityProtocol" -}}
{{- $k := .Values.kafka }}
{{- if and $k.sasl.enabled $k.tls.enabled }}SASL_SSL
{{- else if $k.sasl.enabled }}SASL_PLAINTEXT
{{- else if $k.tls.enabled }}SSL
{{- end }}
{{- end }}

{{/*
--kafka-property arguments (a YAML list of strings) for every container. The stages and the lag
exporter read the SASL credentials from KAFKA_PROPERTY_SASL_USERNAME and
KAFKA_PROPERTY_SASL_PASSWORD (see streamwright.kafkaEnv), so no secret is on a command line.
Usage: include "streamwright.kafkaArgs" (dict "root" $ "exporter" false)
*/}}
{{- define "streamwright.kafkaArgs" -}}
{{- $k := .root.Values.kafka }}
{{- $protocol := include "streamwright.securityProtocol" .root }}
{{- if $protocol }}
- --kafka-property
- security.protocol={{ $protocol }}
{{- end }}
{{- if $k.sasl.enabled }}
- --kafka-property
- sasl.mechanism={{ $k.sasl.mechanism }}
{{- end }}
{{- if and $k.tls.enabled $k.tls.caSecret.name }}
- --kafka-property
- ssl.ca.location=/etc/streamwright/kafka-ca/{{ $k.tls.caSecret.key }}
{{- end }}
{{- if and $k.tls.enabled $k.tls.clientCertSecret }}
- --kafka-property
- ssl.certificate.location=/etc/streamwright/kafka-client-cert/tls.crt
- --kafka-property
- ssl.key.location=/etc/streamwright/kafka-client-cert/tls.key
{{- end }}
{{- range $k.properties }}
- --kafka-property
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
The SASL credentials from their Secret: KAFKA_PROPERTY_SASL_USERNAME/PASSWORD, which every
Streamwright process reads as sasl.username/sasl.password. Usage: include "streamwright.kafkaEnv" (dict "root" $ "exporter" false)
*/}}
{{- define "streamwright.kafkaEnv" -}}
{{- $sasl := .root.Values.kafka.sasl }}
{{- $prefix := "KAFKA_PROPERTY_SASL_" }}
{{- if $sasl.enabled }}
- name: {{ $prefix }}USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $sasl.existingSecret }}
      key: {{ $sasl.usernameKey }}
- name: {{ $prefix }}PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $sasl.existingSecret }}
      key: {{ $sasl.passwordKey }}
{{- end }}
{{- end }}

{{- define "streamwright.kafkaVolumeMounts" -}}
{{- $tls := .Values.kafka.tls }}
{{- if and $tls.enabled $tls.caSecret.name }}
- name: kafka-ca
  mountPath: /etc/streamwright/kafka-ca
  readOnly: true
{{- end }}
{{- if and $tls.enabled $tls.clientCertSecret }}
- name: kafka-client-cert
  mountPath: /etc/streamwright/kafka-client-cert
  readOnly: true
{{- end }}
{{- end }}

{{- define "streamwright.kafkaVolumes" -}}
{{- $tls := .Values.kafka.tls }}
{{- if and $tls.enabled $tls.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ $tls.caSecret.name }}
    items:
      - key: {{ $tls.caSecret.key }}
        path: {{ $tls.caSecret.key }}
{{- end }}
{{- if and $tls.enabled $tls.clientCertSecret }}
- name: kafka-client-cert
  secret:
    secretName: {{ $tls.clientCertSecret }}
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
{{- end }}
{{- end }}

{{/* Pod-level settings shared by every workload. */}}
{{- define "streamwright.podSpecCommon" -}}
serviceAccountName: {{ include "streamwright.serviceAccountName" . }}
automountServiceAccountToken: false
{{- /* Service links would inject <SERVICE>_PORT variables, and STREAMWRIGHT_* ones read as options. */}}
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Checks across values that the schema cannot express. Included once, by the ConfigMap template,
which every release renders.
*/}}
{{- define "streamwright.validate" -}}
{{- $root := . }}
{{- $catalogue := get (include "streamwright.catalogue" . | fromYaml) .Values.topology }}
{{- $info := get (include "streamwright.topologyInfo" . | fromYaml) .Values.topology | default dict }}
{{- $sinkOptions := include "streamwright.sinkOptions" . | fromYaml }}
{{- $_ := required "kafka.bootstrapServers is required: host:port[,host:port...] of the Kafka brokers (--set kafka.bootstrapServers=kafka-0.kafka:9092)" .Values.kafka.bootstrapServers }}
{{- $graceMs := mul (int64 .Values.terminationGracePeriodSeconds) 1000 }}
{{- $seen := dict }}
{{- range $st := (include "streamwright.stages" . | fromYaml).stages }}
{{- $i := int $st.index }}
{{- if hasKey $seen $st.name }}
{{- fail (printf "stages: stage %q is listed twice" $st.name) }}
{{- end }}
{{- $_ := set $seen $st.name true }}
{{- if $catalogue }}
{{- if not $st.catalogueKind }}
{{- $names := list }}{{ range $catalogue }}{{ $names = append $names .name }}{{ end }}
{{- fail (printf "stages[%d]: topology %s has no stage %q (its stages: %s)" $i $root.Values.topology $st.name (join ", " $names)) }}
{{- end }}
{{- if ne $st.catalogueKind $st.kind }}
{{- fail (printf "stages[%d]: stage %s of %s is %s, not %s" $i $st.name $root.Values.topology $st.catalogueKind $st.kind) }}
{{- end }}
{{- end }}
{{- if gt (len $st.headlessService) 63 }}
{{- fail (printf "stages[%d]: the name %s is longer than 63 characters: shorten the release name, fullnameOverride or the stage name" $i $st.headlessService) }}
{{- end }}
{{- if and (eq $st.kind "stateful") (gt (len $st.resourceName) 52) }}
{{- fail (printf "stages[%d]: the StatefulSet name %s is longer than 52 characters: shorten the release name, fullnameOverride or the stage name" $i $st.resourceName) }}
{{- end }}
{{- if and (ne $st.kind "stateful") $st.hasStorage }}
{{- fail (printf "stages[%d].storage: stage %s is %s and keeps no state (only stateful stages take storage)" $i $st.name $st.kind) }}
{{- end }}
{{- if $st.keda.enabled }}
{{- if le (int64 $st.partitions) 0 }}
{{- fail (printf "stages[%d].partitions is required: KEDA scales stage %s; set its partitions (the partition count of %s) to cap maxReplicas" $i $st.name (default "its input topic" $st.inputTopic)) }}
{{- end }}
{{- if gt (int64 $st.keda.maxReplicas) (int64 $st.partitions) }}
{{- fail (printf "stages[%d].keda.maxReplicas: keda maxReplicas (%d) of stage %s exceeds its partitions (%d): replicas beyond the partition count sit idle" $i (int64 $st.keda.maxReplicas) $st.name (int64 $st.partitions)) }}
{{- end }}
{{- if gt (int64 $st.keda.minReplicas) (int64 $st.keda.maxReplicas) }}
{{- fail (printf "stages[%d].keda.minReplicas: keda minReplicas (%d) of stage %s exceeds maxReplicas (%d)" $i (int64 $st.keda.minReplicas) $st.name (int64 $st.keda.maxReplicas)) }}
{{- end }}
{{- if not $st.inputTopic }}
{{- fail (printf "stages[%d].inputTopic is required: KEDA needs the topic stage %s consumes" $i $st.name) }}
{{- end }}
{{- end }}
{{- if and $root.Values.lagExporter.enabled (not $st.inputTopic) }}
{{- fail (printf "stages[%d].inputTopic is required: the lag exporter needs the topic stage %s consumes" $i $st.name) }}
{{- end }}
{{- if and $st.postgres (not $root.Values.postgres.url) }}
{{- fail (printf "postgres.url is required: stage %s (stages[%d]) writes to PostgreSQL (e.g. postgresql://pg.example:5432/telemetra)" $st.name $i) }}
{{- end }}
{{- if and $st.postgres (not $root.Values.postgres.existingSecret) }}
{{- fail (printf "postgres.existingSecret is required: stage %s (stages[%d]) writes to PostgreSQL; name the Secret that holds its password (key postgres.passwordKey)" $st.name $i) }}
{{- end }}
{{- $missing := list }}
{{- range $option, $what := $info.requiredConfig | default dict }}
{{- if and (ne $st.kind "sink") (not (get $st.config $option)) }}
{{- $missing = append $missing (printf "config.%s (%s)" $option $what) }}
{{- end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "topology %s needs %s; stage %s has %s (set in config, or per stage in stages[%d].config)" $root.Values.topology (join " and " $missing) $st.name (ternary "neither" "none" (gt (len $missing) 1)) $i) }}
{{- end }}
{{- if eq $st.kind "sink" }}
{{- range $k, $v := $st.stageConfig }}
{{- if not (hasKey $sinkOptions $k) }}
{{- fail (printf "stages[%d].config.%s: not an option of the %s sink (it has: %s)" $i $k $root.Values.topology (keys $sinkOptions | sortAlpha | join ", ")) }}
{{- end }}
{{- end }}
{{- else if $catalogue }}
{{- range $k, $v := $st.stageConfig }}
{{- if and (hasKey $sinkOptions $k) (not (has $k (list "logLevel" "summaryTopic" "momentsTopic" "shutdownTimeout"))) }}
{{- fail (printf "stages[%d].config.%s: an option of the sink, not of stage %s" $i $k $st.name) }}
{{- end }}
{{- end }}
{{- end }}
{{- $shutdown := $st.config.shutdownTimeout | default "30s" }}
{{- $shutdownMs := include "streamwright.durationMs" $shutdown | int64 }}
{{- if le $graceMs $shutdownMs }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be longer than the shutdown timeout of stage %s (%s): Kubernetes would kill the pod before it commits and leaves the group" (int64 $root.Values.terminationGracePeriodSeconds) $st.name $shutdown) }}
{{- end }}
{{- end }}
{{- range $catalogue }}
{{- if not (hasKey $seen .name) }}
{{- fail (printf "stages: topology %s needs its stage %q (list every stage; replicas: 0 pauses one)" $root.Values.topology .name) }}
{{- end }}
{{- end }}
{{- if and .Values.kafka.sasl.enabled (not .Values.kafka.sasl.existingSecret) }}
{{- fail "kafka.sasl.existingSecret is required when kafka.sasl.enabled: a Secret with the username and password" }}
{{- end }}
{{- if and (not .Values.kafka.tls.enabled) (or .Values.kafka.tls.caSecret.name .Values.kafka.tls.clientCertSecret) }}
{{- fail "kafka.tls: a CA or client certificate is set but tls.enabled is false" }}
{{- end }}
{{- end }}
