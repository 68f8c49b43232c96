// Checks on the Streamwright chart's rendered manifests. Used by tests/helm/run.sh.
//
//   node validate.mjs manifests RENDERED.yaml VALUES.yaml [RULES_OUT.yaml]
//       every object against its schema (kubernetes-models, prometheus-operator models, hand
//       checks for KEDA), then what the chart promises: probes on a container port the service
//       listens on, one workload per stage of the topology, volume claims only for stateful
//       stages, hardened security contexts, a PDB per stage, KEDA capped at the partitions,
//       selectors that select, and flags and environment variables the executables know.
//   node validate.mjs fields WORKDIR RENDERED.yaml...
//       unknown or misplaced fields (which the schema models accept): TypeScript's excess-property
//       check of every object against the models' type declarations.
//   node validate.mjs options
//       the schema's list of crash-monitor options matches the options in the C++ sources.
//
// Environment: SW_NODE_TOOLS (the npm prefix with the validators), SW_REPO (the repository),
// SW_RELEASE (the release name the manifests were rendered with). Prints one line per check and
// ends with "validate: N passed, M failed"; exits 1 on any failure.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const NODE_TOOLS = process.env.SW_NODE_TOOLS;
const REPO = process.env.SW_REPO;
if (!NODE_TOOLS || !REPO) {
  console.error('validate.mjs: set SW_NODE_TOOLS and SW_REPO');
  process.exit(2);
}
const require = createRequire(path.join(NODE_TOOLS, 'package.json'));
const yaml = require('js-yaml');
const CHART = path.join(REPO, 'helm/streamwright');

// ---- results ------------------------------------------------------------------------------------
let passed = 0;
let failed = 0;
function check(name, problems) {
  const list = (Array.isArray(problems) ? problems : [problems]).filter(Boolean);
  if (list.length === 0) {
    passed++;
    console.log(`ok    ${name}`);
  } else {
    failed++;
    console.log(`FAIL  ${name}`);
    for (const p of list.slice(0, 20)) console.log(`        ${p}`);
    if (list.length > 20) console.log(`        ... and ${list.length - 20} more`);
  }
}
function finish() {
  console.log(`validate: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

// ---- what the code base says (so the chart cannot drift from it) ---------------------------------
const read = (rel) => fs.readFileSync(path.join(REPO, rel), 'utf8');

// Options of a program: every ("name", ...) inside its add_options() blocks.
function optionsIn(...files) {
  const out = new Map();
  for (const f of files) {
    const src = read(f);
    for (const block of src.split('add_options()').slice(1)) {
      // The block ends at the first ';' that ends a line (descriptions may contain '; ').
      const end = block.search(/;[ \t]*(\/\/[^\n]*)?\n/);
      const body = end >= 0 ? block.slice(0, end) : block;
      for (const m of body.matchAll(/\(\s*"([a-z][a-z0-9-]*)(?:,[a-z])?"\s*,([^\n]*)/g)) {
        const def = /default_value\("([^"]*)"\)/.exec(m[2]);
        out.set(m[1], def ? def[1] : undefined);
      }
    }
  }
  return out;
}
// shared/runtime/service.cpp: env_name_for_option
function envNameForOption(option) {
  if (option === 'bootstrap-servers') return 'KAFKA_BOOTSTRAP_SERVERS';
  if (option === 'state-dir') return 'CHECKPOINT_LOCATION';
  return 'STREAMWRIGHT_' + option.replace(/-/g, '_').toUpperCase();
}
const camelToKebab = (s) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

// The topologies the code base has, restated here on purpose (the chart has its own copy in
// _helpers.tpl): stages, kinds, the topics each stage consumes (the first is the one KEDA scales
// on). topologies/*_topology.cpp. A stage of kind sink runs its own program (main) with flags only.
const TOPOLOGIES = {
  'crash-monitor': {
    main: 'topologies/crash_monitor_pipeline.cpp',
    loadgenMode: 'crash-monitor',
    stages: {
      parse: { kind: 'stateless', inputs: (cfg) => [cfg.inputTopic ?? 'logs'] },
      aggregate: { kind: 'stateful', inputs: (cfg, app) => [`${app}-crashes-by-user-repartition`] },
    },
  },
  'render-farm': {
    main: 'topologies/render_farm_pipeline.cpp',
    loadgenMode: 'render-farm',
    stages: {
      enrich: { kind: 'stateless', inputs: (cfg) => [cfg.inputTopic ?? 'render-events'] },
      aggregate: { kind: 'stateful', inputs: (cfg, app) => [`${app}-frames-by-scene-repartition`] },
      'node-aggregate': { kind: 'stateful', inputs: (cfg, app) => [`${app}-frames-by-node-repartition`] },
    },
  },
  telemetra: {
    main: 'topologies/telemetra_pipeline.cpp',
    loadgenMode: 'telemetra',
    stages: {
      parse: { kind: 'stateless', inputs: (cfg) => [cfg.chatTopic ?? 'chat-events', cfg.viewerTopic ?? 'viewer-events'] },
      aggregate: { kind: 'stateful', inputs: (cfg, app) => [`${app}-events-by-stream-repartition`] },
      sink: {
        kind: 'sink',
        executable: 'streamwright-telemetra-sink',
        main: 'services/telemetra-sink/main.cpp',
        inputs: (cfg) => [cfg.summaryTopic ?? 'chat-summary', cfg.momentsTopic ?? 'moments'],
      },
    },
  },
};
// The service shell (shared/service/shell.cpp) adds the options every service shares.
const SHELL = 'shared/service/shell.cpp';
const SINK_OPTIONS = (main) => optionsIn(main, SHELL);
const LOADGEN_OPTIONS = () => optionsIn('services/loadgen/options.cpp');
// The catalogue names each pipeline in its topologies/<id>_pipeline.cpp; the build makes
// streamwright-<name> from it.
function registryExecutable(topology) {
  const file = `topologies/${topology.replace(/-/g, '_')}_pipeline.cpp`;
  if (!fs.existsSync(path.join(REPO, file))) return undefined;
  const m = /p\.name = "([a-z-]+)";/.exec(read(file));
  return m ? `streamwright-${m[1]}` : undefined;
}
function topologyOptions(topology) {
  const t = TOPOLOGIES[topology];
  return t ? optionsIn('shared/runtime/service.cpp', SHELL, t.main) : undefined;
}
const LAG_EXPORTER_OPTIONS = () => optionsIn('services/lag-exporter/main.cpp', SHELL);
const CONSOLE_OPTIONS = () => optionsIn('services/console/options.cpp', SHELL);

function parseDurationMs(text) {
  const m = /^([0-9]+)(ms|s|m|min|h)?$/.exec(String(text));
  if (!m) return NaN;
  return Number(m[1]) * { undefined: 1, ms: 1, s: 1000, m: 60000, min: 60000, h: 3600000 }[m[2]];
}

// ---- values -------------------------------------------------------------------------------------
function merge(base, over) {
  if (over === undefined) return base;
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = v === null ? undefined : merge(base[k], v);
    return out;
  }
  return over;
}
function effectiveValues(valuesFile) {
  const defaults = yaml.load(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8'));
  const v = merge(defaults, yaml.load(fs.readFileSync(valuesFile, 'utf8')) ?? {});
  // As the chart documents: no stages means every stage of the topology; an entry without name is
  // the topology's stage at its position, and without kind takes the topology's kind; resources,
  // storage and PDB default by kind.
  const order = Object.keys(TOPOLOGIES[v.topology]?.stages ?? {});
  if (!v.stages?.length) v.stages = order.map((name) => ({ name }));
  v.stages = (v.stages ?? []).map((s, i) => {
    const name = s?.name ?? order[i];
    const kind = s?.kind ?? TOPOLOGIES[v.topology]?.stages[name]?.kind;
    const d = v.stageDefaults?.[kind] ?? {};
    return { ...s, name, kind, resources: s?.resources ?? d.resources, storage: kind === 'stateful' ? { ...(d.storage ?? {}), ...(s?.storage ?? {}) } : s?.storage };
  });
  return v;
}

// ---- manifests ----------------------------------------------------------------------------------
function loadDocs(file) {
  return yaml.loadAll(fs.readFileSync(file, 'utf8')).filter((d) => d && typeof d === 'object');
}
const id = (o) => `${o.kind}/${o.metadata?.name}`;
const labelsMatch = (selector, labels) => {
  if (!selector || typeof selector !== 'object') return false;
  const ml = selector.matchLabels ?? selector;
  if (Object.keys(ml).length === 0 && !selector.matchExpressions) return false;  // selects everything: never intended
  if (selector.matchExpressions) throw new Error('matchExpressions are not expected in this chart');
  return Object.entries(ml).every(([k, v]) => labels?.[k] === v);
};
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);
const podLabels = (w) => w.spec?.template?.metadata?.labels ?? {};

// The model class for an object, or undefined (ScaledObject and TriggerAuthentication have none).
function modelFor(apiVersion, kind) {
  // One file per kind: loading a whole API group's index costs 0.1 s each.
  const file = apiVersion === 'monitoring.coreos.com/v1'
    ? `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`
    : /^(v1|[a-z0-9.]+\/v[0-9a-z]+)$/.test(apiVersion) && /^[A-Z][A-Za-z0-9]*$/.test(kind) ? `kubernetes-models/${apiVersion}/${kind}` : undefined;
  let cls;
  try {
    cls = file && require(file)[kind];
  } catch {
    return undefined;
  }
  return cls && cls.apiVersion === apiVersion && cls.kind === kind ? cls : undefined;
}

// KEDA has no model in the npm packages: its CRDs' required fields and known keys, by hand
// (keda.sh/v1alpha1, KEDA 2.x). Trigger metadata is map[string]string in the CRD.
function checkScaledObject(o) {
  const p = [];
  const s = o.spec;
  if (!s || typeof s !== 'object') return ['spec is required'];
  const known = ['scaleTargetRef', 'pollingInterval', 'cooldownPeriod', 'initialCooldownPeriod', 'idleReplicaCount',
    'minReplicaCount', 'maxReplicaCount', 'fallback', 'advanced', 'triggers'];
  for (const k of Object.keys(s)) if (!known.includes(k)) p.push(`spec.${k} is not a ScaledObject field`);
  const ref = s.scaleTargetRef;
  if (!ref || typeof ref.name !== 'string' || !ref.name) p.push('spec.scaleTargetRef.name (string) is required');
  for (const k of Object.keys(ref ?? {}))
    if (!['apiVersion', 'kind', 'name', 'envSourceContainerName'].includes(k)) p.push(`spec.scaleTargetRef.${k} is unknown`);
  for (const k of ['pollingInterval', 'cooldownPeriod', 'minReplicaCount', 'maxReplicaCount'])
    if (s[k] !== undefined && !(Number.isInteger(s[k]) && s[k] >= 0)) p.push(`spec.${k} must be a non-negative integer`);
  if (Number.isInteger(s.minReplicaCount) && Number.isInteger(s.maxReplicaCount) && s.minReplicaCount > s.maxReplicaCount)
    p.push(`minReplicaCount ${s.minReplicaCount} > maxReplicaCount ${s.maxReplicaCount}`);
  if (!Array.isArray(s.triggers) || s.triggers.length === 0) p.push('spec.triggers (non-empty list) is required');
  for (const [i, t] of (s.triggers ?? []).entries()) {
    if (typeof t.type !== 'string' || !t.type) p.push(`triggers[${i}].type (string) is required`);
    if (!t.metadata || typeof t.metadata !== 'object') p.push(`triggers[${i}].metadata (map) is required`);
    for (const [k, v] of Object.entries(t.metadata ?? {}))
      if (typeof v !== 'string') p.push(`triggers[${i}].metadata.${k} must be a string (map[string]string), got ${typeof v}`);
    for (const k of Object.keys(t))
      if (!['type', 'name', 'metadata', 'authenticationRef', 'metricType', 'useCachedMetrics'].includes(k))
        p.push(`triggers[${i}].${k} is unknown`);
    if (t.authenticationRef && typeof t.authenticationRef.name !== 'string') p.push(`triggers[${i}].authenticationRef.name is required`);
  }
  return p;
}
function checkTriggerAuthentication(o) {
  const p = [];
  const s = o.spec;
  if (!s || typeof s !== 'object') return ['spec is required'];
  for (const k of Object.keys(s))
    if (!['secretTargetRef', 'env', 'hashiCorpVault', 'azureKeyVault', 'podIdentity', 'configMapTargetRef'].includes(k))
      p.push(`spec.${k} is unknown`);
  for (const [i, r] of (s.secretTargetRef ?? []).entries()) {
    for (const k of ['parameter', 'name', 'key']) if (typeof r[k] !== 'string' || !r[k]) p.push(`secretTargetRef[${i}].${k} (string) is required`);
    for (const k of Object.keys(r)) if (!['parameter', 'name', 'key'].includes(k)) p.push(`secretTargetRef[${i}].${k} is unknown`);
    // The Kafka scaler's authentication parameters.
    if (!['sasl', 'username', 'password', 'tls', 'ca', 'cert', 'key', 'keyPassword', 'unsafeSsl'].includes(r.parameter))
      p.push(`secretTargetRef[${i}].parameter ${r.parameter} is not a Kafka scaler parameter`);
  }
  return p;
}

function manifests(renderedFile, valuesFile, rulesOut) {
  const name = path.basename(renderedFile, '.yaml');
  const docs = loadDocs(renderedFile);
  const v = effectiveValues(valuesFile);
  const release = process.env.SW_RELEASE;
  const app = v.applicationId || v.topology;
  const topo = TOPOLOGIES[v.topology];
  const options = topologyOptions(v.topology);
  const byKind = (k) => docs.filter((d) => d.kind === k);
  const find = (k, n) => docs.find((d) => d.kind === k && d.metadata?.name === n);
  const workloads = docs.filter((d) => WORKLOAD_KINDS.has(d.kind));
  const t = (s) => `${name}: ${s}`;

  check(t('no <no value> left by a missing value'), fs.readFileSync(renderedFile, 'utf8').split('\n')
    .flatMap((l, i) => (l.includes('<no value>') ? [`line ${i + 1}: ${l.trim()}`] : [])));

  // -- every object: well-formed, valid against its model, labelled, sensibly named --
  check(t(`${docs.length} objects, each with apiVersion, kind, metadata.name, unique`), (() => {
    const p = [];
    const seen = new Set();
    for (const d of docs) {
      if (!d.apiVersion || !d.kind || !d.metadata?.name) p.push(`incomplete object: ${JSON.stringify(d).slice(0, 120)}`);
      if (seen.has(id(d))) p.push(`${id(d)} appears twice`);
      seen.add(id(d));
      if (d.metadata?.namespace) p.push(`${id(d)} sets a namespace: leave it to the release`);
    }
    return p;
  })());
  for (const d of docs) {
    let problems;
    if (d.apiVersion === 'keda.sh/v1alpha1' && d.kind === 'ScaledObject') problems = checkScaledObject(d);
    else if (d.apiVersion === 'keda.sh/v1alpha1' && d.kind === 'TriggerAuthentication') problems = checkTriggerAuthentication(d);
    else {
      const cls = modelFor(d.apiVersion, d.kind);
      if (!cls) problems = [`no model for ${d.apiVersion} ${d.kind}`];
      else {
        try {
          new cls(d).validate();
          problems = [];
        } catch (e) {
          problems = [String(e.message ?? e).slice(0, 2000)];
        }
      }
    }
    check(t(`${id(d)} is a valid ${d.apiVersion} ${d.kind}`), problems);
  }
  check(t('every object has the standard labels'), docs.flatMap((d) => {
    const l = d.metadata?.labels ?? {};
    const p = [];
    for (const k of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/version',
      'app.kubernetes.io/part-of', 'app.kubernetes.io/managed-by', 'helm.sh/chart'])
      if (!l[k]) p.push(`${id(d)} lacks label ${k}`);
    if (l['app.kubernetes.io/name'] !== 'streamwright') p.push(`${id(d)}: app.kubernetes.io/name is ${l['app.kubernetes.io/name']}`);
    if (release && l['app.kubernetes.io/instance'] !== release) p.push(`${id(d)}: app.kubernetes.io/instance is not ${release}`);
    if (l['app.kubernetes.io/managed-by'] !== 'Helm') p.push(`${id(d)}: app.kubernetes.io/managed-by is not Helm`);
    if (l['app.kubernetes.io/part-of'] !== app) p.push(`${id(d)}: app.kubernetes.io/part-of is not ${app}`);
    for (const [k, val] of Object.entries(l)) if (String(val).length > 63) p.push(`${id(d)}: label ${k} longer than 63`);
    return p;
  }));
  check(t('object names fit Kubernetes limits'), docs.flatMap((d) => {
    const n = d.metadata.name;
    const p = [];
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(n) || n.length > 253) p.push(`${id(d)}: not a DNS subdomain`);
    if (d.kind === 'Service' && !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)) p.push(`${id(d)}: not a DNS-1035 label`);
    // Pods get controller-revision-hash=<name>-<10 chars>, a label value (63 at most).
    if (d.kind === 'StatefulSet' && n.length > 52) p.push(`${id(d)}: longer than 52 characters`);
    return p;
  }));

  // -- the ConfigMap the stages read --
  const configMaps = byKind('ConfigMap');
  const cm = configMaps.find((c) => c.data && 'KAFKA_BOOTSTRAP_SERVERS' in c.data);
  check(t('a ConfigMap holds the stages\' settings as strings'), (() => {
    if (!cm) return ['no ConfigMap with KAFKA_BOOTSTRAP_SERVERS'];
    const p = [];
    for (const [k, val] of Object.entries(cm.data)) if (typeof val !== 'string') p.push(`${k} is a ${typeof val}, not a string`);
    if (cm.data.KAFKA_BOOTSTRAP_SERVERS !== v.kafka.bootstrapServers) p.push(`KAFKA_BOOTSTRAP_SERVERS is ${cm.data.KAFKA_BOOTSTRAP_SERVERS}`);
    if (cm.data.STREAMWRIGHT_APPLICATION_ID !== app) p.push(`STREAMWRIGHT_APPLICATION_ID is ${cm.data.STREAMWRIGHT_APPLICATION_ID}, not ${app}`);
    for (const [k, val] of Object.entries(cm.data)) if (/^[0-9.]+e\+[0-9]+$/.test(val)) p.push(`${k}=${val}: a number rendered in exponent form`);
    return p;
  })());
  const cmData = cm?.data ?? {};

  // -- every pod: probes, ports, security, volumes, environment --
  const containersOf = (w) => w.spec?.template?.spec?.containers ?? [];
  // What the process sees: the ConfigMap only through envFrom, then its own env.
  const envOf = (c) => {
    const env = (c.envFrom ?? []).some((ef) => ef.configMapRef?.name === cm?.metadata?.name) ? { ...cmData } : {};
    for (const e of c.env ?? []) env[e.name] = e.value ?? '<from ' + Object.keys(e.valueFrom ?? {}).join() + '>';
    return env;
  };
  const resolvePort = (c, port) => (c.ports ?? []).find((p) => (typeof port === 'string' ? p.name === port : p.containerPort === port));
  for (const w of workloads) {
    const pod = w.spec?.template?.spec ?? {};
    const component = w.metadata.labels?.['app.kubernetes.io/component'];
    const isLag = component === 'lag-exporter';
    const isLoadgen = component === 'load-generator';
    const isSink = (v.stages ?? []).some((s) => s.name === component && s.kind === 'sink');
    const isLake = component === 'lake-sink';  // its state is the tables on the lake volume (checked below)
    const isConsole = component === 'console';  // serves its page and API on --port, no metrics
    const claims = (w.spec?.volumeClaimTemplates ?? []).map((c) => c.metadata?.name);
    const volumes = new Map((pod.volumes ?? []).map((x) => [x.name, x]));
    check(t(`${id(w)}: selector selects its own pod template`), labelsMatch(w.spec?.selector, podLabels(w)) ? [] : ['spec.selector does not match the pod template labels']);
    check(t(`${id(w)}: pod hardening (non-root ${v.podSecurityContext?.runAsUser}, seccomp, no token, no service links)`), (() => {
      const p = [];
      const sc = pod.securityContext ?? {};
      if (sc.runAsNonRoot !== true) p.push('pod securityContext.runAsNonRoot is not true');
      if (sc.runAsUser !== 10001) p.push(`pod securityContext.runAsUser is ${sc.runAsUser}, not 10001 (the image's user)`);
      if (pod.automountServiceAccountToken !== false) p.push('automountServiceAccountToken is not false (the services never call the API)');
      if (pod.enableServiceLinks !== false) p.push('enableServiceLinks is not false: Service links inject <SERVICE>_PORT variables, and STREAMWRIGHT_* ones are read as options');
      for (const c of containersOf(w))
        if ((c.securityContext?.seccompProfile?.type ?? sc.seccompProfile?.type) !== 'RuntimeDefault') p.push(`${c.name}: no RuntimeDefault seccomp profile`);
      const sa = pod.serviceAccountName;
      if (sa && sa !== 'default' && !find('ServiceAccount', sa)) p.push(`serviceAccountName ${sa} is not rendered`);
      if (!(Number.isInteger(pod.terminationGracePeriodSeconds) && pod.terminationGracePeriodSeconds > 0)) p.push('terminationGracePeriodSeconds missing');
      return p;
    })());
    for (const c of containersOf(w)) {
      const cid = `${id(w)} container ${c.name}`;
      const env = envOf(c);
      const listenPort = isLag ? Number(argValue(c.args, '--port') ?? 9465)
        : isConsole ? Number(argValue(c.args, '--port') ?? 9466)
        : Number(argValue(c.args, '--metrics-port') ?? env.STREAMWRIGHT_METRICS_PORT ?? 9464);
      // The exporter's /healthz fails while Kafka or a watched topic is missing: readiness only.
      const [live, ready] = isLag ? ['/metrics', '/healthz'] : ['/healthz', '/readyz'];
      if (isLoadgen) {
        // streamwright-loadgen serves no HTTP: a probe would only fail and restart it.
        check(t(`${cid}: no probes and no ports (streamwright-loadgen serves no HTTP)`),
          ['livenessProbe', 'readinessProbe', 'startupProbe'].filter((k) => c[k]).map((k) => `${k} on a process that listens nowhere`)
            .concat((c.ports ?? []).map((x) => `port ${x.name} (${x.containerPort}) on a process that listens nowhere`)));
      } else check(t(`${cid}: liveness ${live} and readiness ${ready} on the port it listens on (${listenPort})`), (() => {
        const p = [];
        for (const [probe, want] of [['livenessProbe', live], ['readinessProbe', ready]]) {
          const pr = c[probe];
          if (!pr) { p.push(`no ${probe}`); continue; }
          if (!pr.httpGet) { p.push(`${probe} is not an httpGet probe`); continue; }
          if (pr.httpGet.path !== want) p.push(`${probe} path is ${pr.httpGet.path}, not ${want}`);
          const port = resolvePort(c, pr.httpGet.port);
          if (!port) p.push(`${probe} port ${pr.httpGet.port} is not a port of the container`);
          else if (port.containerPort !== listenPort) p.push(`${probe} port ${pr.httpGet.port} is ${port.containerPort}, but the process listens on ${listenPort}`);
        }
        if (isConsole ? !resolvePort(c, 'http') : !resolvePort(c, 'metrics')) p.push(`no container port named ${isConsole ? 'http' : 'metrics'}`);
        return p;
      })());
      check(t(`${cid}: hardened securityContext`), (() => {
        const sc = c.securityContext ?? {};
        const p = [];
        if (sc.readOnlyRootFilesystem !== true) p.push('readOnlyRootFilesystem is not true');
        if (sc.allowPrivilegeEscalation !== false) p.push('allowPrivilegeEscalation is not false');
        if (!(sc.capabilities?.drop ?? []).includes('ALL')) p.push('capabilities.drop lacks ALL');
        if ((sc.capabilities?.add ?? []).length) p.push('capabilities are added');
        if (sc.privileged) p.push('privileged');
        if (sc.runAsNonRoot === false || (sc.runAsUser !== undefined && sc.runAsUser === 0)) p.push('runs as root');
        return p;
      })());
      check(t(`${cid}: resources (cpu and memory requests, memory limit)`), (() => {
        const r = c.resources ?? {};
        return [!r.requests?.cpu && 'no cpu request', !r.requests?.memory && 'no memory request', !r.limits?.memory && 'no memory limit'];
      })());
      const needsState = !isLag && !isLoadgen && !isSink && !isLake && !isConsole;
      check(t(`${cid}: volume mounts resolve; /tmp${needsState ? ' and the state directory' : ''} writable`), (() => {
        const p = [];
        const mounts = c.volumeMounts ?? [];
        for (const m of mounts)
          if (!volumes.has(m.name) && !claims.includes(m.name)) p.push(`mount ${m.name} (${m.mountPath}) has no volume or claim template`);
        const writable = (dir) => mounts.some((m) => m.mountPath === dir && !m.readOnly);
        if (!writable('/tmp')) p.push('/tmp is not a writable mount (the root filesystem is read-only)');
        if (needsState) {
          const state = env.CHECKPOINT_LOCATION;
          if (!state) p.push('CHECKPOINT_LOCATION is not set (the default /tmp/streamwright-state would be lost on restart)');
          else if (!writable(state)) p.push(`the state directory ${state} is not a writable mount`);
        }
        for (const [n, vol] of volumes) {
          if (vol.configMap && !find('ConfigMap', vol.configMap.name)) p.push(`volume ${n}: ConfigMap ${vol.configMap.name} is not rendered`);
          if (vol.secret && !vol.secret.secretName) p.push(`volume ${n}: secret without secretName`);
        }
        return p;
      })());
      check(t(`${cid}: environment references resolve`), (() => {
        const p = [];
        for (const ef of c.envFrom ?? [])
          if (ef.configMapRef && !find('ConfigMap', ef.configMapRef.name)) p.push(`envFrom ConfigMap ${ef.configMapRef.name} is not rendered`);
        const defined = new Set([...(c.env ?? []).map((e) => e.name), ...((c.envFrom ?? []).some((ef) => ef.configMapRef) ? Object.keys(cmData) : [])]);
        for (const a of [...(c.command ?? []), ...(c.args ?? [])])
          for (const m of String(a).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
            if (!defined.has(m[1])) p.push(`$(${m[1]}) in the command line is not defined in the container's environment`);
        for (const e of c.env ?? [])
          if (e.valueFrom?.secretKeyRef && !(e.valueFrom.secretKeyRef.name && e.valueFrom.secretKeyRef.key)) p.push(`${e.name}: secretKeyRef without name and key`);
        return p;
      })());
      const image = v.image.digest ? `${v.image.repository}@${v.image.digest}` : `${v.image.repository}:${v.image.tag || chartAppVersion()}`;
      check(t(`${cid}: image ${image}`), c.image === image ? [] : [`image is ${c.image}`]);
    }
  }

  // -- stages: one workload each, of the right kind, running the right program --
  const stages = v.stages ?? [];
  const scaledObjects = byKind('ScaledObject');
  const stageWorkload = (s) => workloads.filter((w) => w.metadata.labels?.['app.kubernetes.io/component'] === s);
  if (topo) {
    check(t(`every stage of ${v.topology} (${Object.keys(topo.stages).join(', ')}) has exactly one workload`),
      Object.keys(topo.stages).map((s) => (stageWorkload(s).length === 1 ? null : `stage ${s}: ${stageWorkload(s).length} workloads`)));
    const exe = registryExecutable(v.topology);
    check(t(`${v.topology} runs ${exe} (its topologies/*_pipeline.cpp)${Object.values(topo.stages).some((x) => x.executable) ? ', its sink its own executable' : ''}`),
      workloads.filter((w) => stages.some((s) => stageWorkload(s.name).includes(w)))
        .flatMap((w) => containersOf(w).map((c) => {
          const want = topo.stages[w.metadata.labels['app.kubernetes.io/component']]?.executable ?? exe;
          return c.command?.[0] === `/usr/local/bin/${want}` ? null : `${id(w)}: command ${c.command?.[0]}, not ${want}`;
        })));
  }
  for (const s of stages) {
    const ws = stageWorkload(s.name);
    const w = ws[0];
    const sink = s.kind === 'sink';
    const wantKind = s.kind === 'stateful' ? 'StatefulSet' : 'Deployment';
    check(t(`stage ${s.name}: one ${wantKind}, running ${sink ? 'without --stage (a sink)' : `--stage ${s.name}`}`), (() => {
      if (ws.length !== 1) return [`${ws.length} workloads with component ${s.name}`];
      const p = [];
      if (w.kind !== wantKind) p.push(`${id(w)} is a ${w.kind}, not a ${wantKind} (${s.kind})`);
      const c = containersOf(w)[0];
      if (sink) {
        if ((c?.args ?? []).includes('--stage')) p.push('a sink takes no --stage');
      } else if (c?.args?.[0] !== '--stage' || c?.args?.[1] !== s.name) p.push(`args do not start with --stage ${s.name}: ${JSON.stringify(c?.args?.slice(0, 2))}`);
      if (topo && topo.stages[s.name]?.kind !== s.kind) p.push(`${v.topology} has no ${s.kind} stage ${s.name}`);
      return p;
    })());
    if (!w) continue;
    const scaled = scaledObjects.find((so) => so.spec?.scaleTargetRef?.name === w.metadata.name && so.spec?.scaleTargetRef?.kind === w.kind);
    check(t(`stage ${s.name}: replicas ${scaled ? 'left to KEDA' : s.replicas ?? 1}`), scaled
      ? (w.spec.replicas === undefined ? [] : [`spec.replicas is ${w.spec.replicas} although ${id(scaled)} scales it (every upgrade would reset the scale)`])
      : (w.spec.replicas === (s.replicas ?? 1) ? [] : [`spec.replicas is ${w.spec.replicas}, not ${s.replicas ?? 1}`]));
    const c = containersOf(w)[0] ?? {};
    const env = envOf(c);
    // The options the process runs with: a sink's from its flags, a stage's from its environment.
    const processConfig = sink ? configFromArgs(c.args) : yamlConfigFromEnv(env);
    check(t(`stage ${s.name}: ${s.kind === 'stateful' ? 'a volume claim template for its state, and a headless Service' : 'no persistent volume'}`), (() => {
      const p = [];
      const claims = w.spec?.volumeClaimTemplates ?? [];
      const pvcVolumes = (w.spec?.template?.spec?.volumes ?? []).filter((x) => x.persistentVolumeClaim);
      if (s.kind === 'stateful') {
        const stateMount = (c.volumeMounts ?? []).find((m) => m.mountPath === env.CHECKPOINT_LOCATION);
        const claim = claims.find((x) => x.metadata?.name === stateMount?.name);
        if (!claim) p.push(`the state directory ${env.CHECKPOINT_LOCATION} is not on a volume claim template`);
        else if (!claim.spec?.resources?.requests?.storage) p.push(`claim ${claim.metadata.name} requests no storage`);
        else if (s.storage?.size && claim.spec.resources.requests.storage !== s.storage.size) p.push(`claim requests ${claim.spec.resources.requests.storage}, not ${s.storage.size}`);
        const svc = find('Service', w.spec.serviceName);
        if (!svc) p.push(`serviceName ${w.spec.serviceName} is not a rendered Service`);
        else {
          if (svc.spec?.clusterIP !== 'None') p.push(`${id(svc)} is not headless`);
          if (!labelsMatch(svc.spec?.selector, podLabels(w))) p.push(`${id(svc)} does not select the pods`);
        }
      } else {
        if (claims.length) p.push('a stateless stage has volumeClaimTemplates');
        if (pvcVolumes.length) p.push('a stateless stage mounts a PersistentVolumeClaim');
      }
      return p;
    })());
    const staticWanted = s.kind === 'stateful' && (s.staticMembership ?? v.stageDefaults?.stateful?.staticMembership ?? false);
    check(t(`stage ${s.name}: ${staticWanted ? 'a static group member named after its pod' : 'a dynamic group member'}`), (() => {
      const e = (c.env ?? []).find((x) => x.name === 'STREAMWRIGHT_GROUP_INSTANCE_ID');
      if (!staticWanted) return e ? ['STREAMWRIGHT_GROUP_INSTANCE_ID is set'] : [];
      if (!e) return ['no STREAMWRIGHT_GROUP_INSTANCE_ID'];
      return e.valueFrom?.fieldRef?.fieldPath === 'metadata.name' ? [] : [`STREAMWRIGHT_GROUP_INSTANCE_ID is ${JSON.stringify(e)}, not the pod's name`];
    })());
    const pdbs = byKind('PodDisruptionBudget').filter((b) => labelsMatch(b.spec?.selector, podLabels(w)));
    const pdbWanted = (s.pdb?.enabled ?? v.stageDefaults?.[s.kind]?.pdb?.enabled ?? true) ? 1 : 0;
    check(t(`stage ${s.name}: ${pdbWanted ? 'one PodDisruptionBudget' : 'no PodDisruptionBudget (disabled)'}`),
      pdbs.length === pdbWanted ? [] : [`${pdbs.length} PodDisruptionBudgets select its pods`]);
    check(t(`stage ${s.name}: a metrics Service on the container port metrics`), (() => {
      const svcs = byKind('Service').filter((x) => x.spec?.clusterIP !== 'None' && labelsMatch(x.spec?.selector, podLabels(w)));
      if (svcs.length !== 1) return [`${svcs.length} ClusterIP Services select its pods`];
      const port = (svcs[0].spec.ports ?? []).find((x) => x.name === 'metrics');
      if (!port) return [`${id(svcs[0])} has no port named metrics`];
      return resolvePort(c, port.targetPort ?? port.port) ? [] : [`targetPort ${port.targetPort} is not a container port`];
    })());
    check(t(`stage ${s.name}: terminationGracePeriodSeconds outlasts --shutdown-timeout`), (() => {
      const timeout = env.STREAMWRIGHT_SHUTDOWN_TIMEOUT ?? options?.get('shutdown-timeout') ?? '30s';
      const grace = w.spec.template.spec.terminationGracePeriodSeconds;
      return grace * 1000 > parseDurationMs(timeout) ? [] : [`grace ${grace}s <= shutdown timeout ${timeout}: SIGKILL before the commit`];
    })());
    if (sink) {
      const sinkOptions = SINK_OPTIONS(topo.stages[s.name].main);
      check(t(`stage ${s.name}: the sink's flags, Kafka and PostgreSQL settings (${topo.stages[s.name].main})`), (() => {
        const p = [];
        for (const a of c.args ?? []) {
          const m = /^--([a-z][a-z0-9-]*)(=.*)?$/.exec(a);
          if (m && !sinkOptions.has(m[1])) p.push(`--${m[1]} is not an option of ${topo.stages[s.name].executable} (it would exit with status 2)`);
        }
        if (c.envFrom?.length) p.push('envFrom: the sink reads no STREAMWRIGHT_* variables (its options are flags)');
        for (const k of Object.keys(env)) if (k.startsWith('STREAMWRIGHT_') || k === 'CHECKPOINT_LOCATION') p.push(`${k}: the sink ignores it`);
        const bootstrap = (c.env ?? []).find((e) => e.name === 'KAFKA_BOOTSTRAP_SERVERS')?.valueFrom?.configMapKeyRef;
        if (argValue(c.args, '--bootstrap-servers') !== v.kafka.bootstrapServers &&
            !(bootstrap && bootstrap.name === cm?.metadata?.name && cmData[bootstrap.key] === v.kafka.bootstrapServers))
          p.push('KAFKA_BOOTSTRAP_SERVERS is not the chart\'s kafka.bootstrapServers');
        if (argValue(c.args, '--metrics-port') !== String(v.metrics.port)) p.push(`--metrics-port ${argValue(c.args, '--metrics-port')}, not ${v.metrics.port}`);
        if (argValue(c.args, '--group-id') !== `${app}-${s.name}`) p.push(`--group-id ${argValue(c.args, '--group-id')}, not ${app}-${s.name}`);
        if (env.POSTGRES_URL !== v.postgres?.url) p.push(`POSTGRES_URL is ${env.POSTGRES_URL}, not postgres.url`);
        if (v.postgres?.userKey) {
          const ref = (c.env ?? []).find((e) => e.name === 'POSTGRES_USER')?.valueFrom?.secretKeyRef;
          if (ref?.name !== v.postgres.existingSecret || ref?.key !== v.postgres.userKey) p.push('POSTGRES_USER does not come from the Secret');
        } else if ((env.POSTGRES_USER ?? '') !== (v.postgres?.user ?? '')) p.push(`POSTGRES_USER is ${env.POSTGRES_USER}, not postgres.user`);
        // The password: a file of the mounted Secret, never a variable or a flag.
        if ('POSTGRES_PASSWORD' in env || argValue(c.args, '--postgres-password')) p.push('the password is in the environment or on the command line');
        const file = env.POSTGRES_PASSWORD_FILE;
        const mount = (c.volumeMounts ?? []).find((m) => file && file.startsWith(m.mountPath + '/'));
        const vol = mount && (w.spec.template.spec.volumes ?? []).find((x) => x.name === mount.name);
        const item = vol?.secret?.items?.find((i) => `${mount.mountPath}/${i.path}` === file);
        if (!vol?.secret || vol.secret.secretName !== v.postgres?.existingSecret || item?.key !== (v.postgres?.passwordKey ?? 'password'))
          p.push(`POSTGRES_PASSWORD_FILE ${file} is not key ${v.postgres?.passwordKey} of a mount of Secret ${v.postgres?.existingSecret}`);
        if (!read(topo.stages[s.name].main).includes('"POSTGRES_PASSWORD_FILE"')) p.push(`${topo.stages[s.name].main} reads no POSTGRES_PASSWORD_FILE`);
        // The chart-wide topics reach the sink, so it reads what the aggregate writes.
        for (const k of ['summaryTopic', 'momentsTopic', 'logLevel']) {
          const want = s.config?.[k] ?? v.config?.[k];
          if (want !== undefined && String(processConfig[k]) !== String(want)) p.push(`${k} is ${processConfig[k]}, not ${want}`);
        }
        for (const [k, val] of Object.entries(s.config ?? {})) if (String(processConfig[k]) !== String(val)) p.push(`config.${k} ${val} does not reach the sink (${processConfig[k]})`);
        return p;
      })());
    }
    // config.processingGuarantee, overridden by the stage's config, reaches the process (flags win).
    const guaranteeWanted = s.config?.processingGuarantee ?? v.config?.processingGuarantee ?? options?.get('processing-guarantee') ?? 'at_least_once';
    if (!sink) check(t(`stage ${s.name}: processing guarantee ${guaranteeWanted}`), (() => {
      const got = argValue(c.args, '--processing-guarantee') ?? env.STREAMWRIGHT_PROCESSING_GUARANTEE ?? options?.get('processing-guarantee') ?? 'at_least_once';
      const p = [];
      if (got !== guaranteeWanted) p.push(`the process runs ${got}, not ${guaranteeWanted}`);
      if (!['at_least_once', 'exactly_once'].includes(got)) p.push(`${got} is not at_least_once or exactly_once`);
      return p;
    })());
    if (options) {
      if (!sink) check(t(`stage ${s.name}: every flag and STREAMWRIGHT_* variable is an option of the ${v.topology} service`), (() => {
        const p = [];
        const envNames = new Set([...options.keys()].map(envNameForOption));
        for (const a of c.args ?? []) {
          const m = /^--([a-z][a-z0-9-]*)(=.*)?$/.exec(a);
          if (m && !options.has(m[1])) p.push(`--${m[1]} is not an option (the service would exit with status 2)`);
        }
        for (const k of Object.keys(env))
          if ((k.startsWith('STREAMWRIGHT_') || k === 'CHECKPOINT_LOCATION') && !envNames.has(k)) p.push(`${k} matches no option: the service ignores it silently`);
        // service.cpp reads them itself, or through the shell's kafka_properties (Config::set_user_properties:
        // files, KAFKA_PROPERTY_*, flags).
        const svc = read('shared/runtime/service.cpp') + read(SHELL);
        const readsEnv = svc.includes('set_from_environment()') ||
          (svc.includes('set_user_properties(') && /set_user_properties\([\s\S]*?set_from_environment\(\);/.test(read('shared/kafka/config.cpp')));
        if (!read('shared/kafka/config.h').includes('"KAFKA_PROPERTY_"') || !readsEnv) {
          for (const k of Object.keys(env)) if (k.startsWith('KAFKA_PROPERTY_')) p.push(`${k}: the service reads no KAFKA_PROPERTY_* variables`);
        }
        const kp = (c.args ?? []).flatMap((a, i) => (a === '--kafka-property' ? [c.args[i + 1]] : []));
        for (const x of kp) if (!/^[a-z][a-z0-9._]*=.+/.test(x ?? '')) p.push(`--kafka-property ${x}: not key=value`);
        return p;
      })());
      check(t(`stage ${s.name}: Kafka security ${v.kafka.sasl?.enabled ? 'from the Secret, not on the command line' : 'settings consistent'}`), (() => {
        const p = [];
        const props = Object.fromEntries((c.args ?? []).flatMap((a, i) => (a === '--kafka-property' ? [c.args[i + 1].split(/=(.*)/s).slice(0, 2)] : [])));
        for (const k of Object.keys(props))
          if (/^(sasl\.password|sasl\.username|ssl\.key\.password|sasl\.oauthbearer\.client\.secret)$/.test(k))
            p.push(`${k} is on the command line (visible in the pod spec or to every user of the host): use KAFKA_PROPERTY_* from a Secret`);
        const protocol = v.kafka.sasl?.enabled ? (v.kafka.tls?.enabled ? 'SASL_SSL' : 'SASL_PLAINTEXT') : v.kafka.tls?.enabled ? 'SSL' : undefined;
        if (props['security.protocol'] !== protocol) p.push(`security.protocol is ${props['security.protocol']}, not ${protocol}`);
        if (v.kafka.sasl?.enabled) {
          for (const [name, key] of [['KAFKA_PROPERTY_SASL_USERNAME', v.kafka.sasl.usernameKey], ['KAFKA_PROPERTY_SASL_PASSWORD', v.kafka.sasl.passwordKey]]) {
            const ref = (c.env ?? []).find((e) => e.name === name)?.valueFrom?.secretKeyRef;
            if (!ref || ref.name !== v.kafka.sasl.existingSecret || ref.key !== key) p.push(`${name} does not come from Secret ${v.kafka.sasl.existingSecret} key ${key}`);
          }
          if (props['sasl.mechanism'] !== v.kafka.sasl.mechanism) p.push(`sasl.mechanism is ${props['sasl.mechanism']}`);
        }
        if (v.kafka.tls?.enabled && v.kafka.tls.caSecret?.name) {
          const loc = props['ssl.ca.location'];
          const mount = (c.volumeMounts ?? []).find((m) => loc && loc.startsWith(m.mountPath + '/'));
          const vol = mount && (w.spec.template.spec.volumes ?? []).find((x) => x.name === mount.name);
          if (!vol?.secret || vol.secret.secretName !== v.kafka.tls.caSecret.name) p.push(`ssl.ca.location ${loc} is not in a mount of Secret ${v.kafka.tls.caSecret.name}`);
        }
        return p;
      })());
    }
    if (topo && topo.stages[s.name]) {
      const want = topo.stages[s.name].inputs(processConfig, app)[0];
      const groupWanted = `${app}-${s.name}`;
      const keda = { ...(v.keda ?? {}), ...(s.keda ?? {}) };
      check(t(`stage ${s.name}: ${keda.enabled ? `a ScaledObject on group ${groupWanted}, topic ${want}, max <= ${s.partitions} partitions` : 'no ScaledObject'}`), (() => {
        if (!keda.enabled) return scaled ? [`${id(scaled)} scales it although KEDA is off for it`] : [];
        if (!scaled) return ['no ScaledObject targets it'];
        const p = [];
        const trig = (scaled.spec.triggers ?? []).find((x) => x.type === 'kafka');
        if (!trig) return ['no kafka trigger'];
        const md = trig.metadata ?? {};
        if (md.consumerGroup !== groupWanted) p.push(`consumerGroup ${md.consumerGroup}, not ${groupWanted}`);
        if (md.topic !== want) p.push(`topic ${md.topic}, not ${want}`);
        if (md.bootstrapServers !== v.kafka.bootstrapServers) p.push(`bootstrapServers ${md.bootstrapServers}`);
        if (!(scaled.spec.maxReplicaCount <= s.partitions)) p.push(`maxReplicaCount ${scaled.spec.maxReplicaCount} > partitions ${s.partitions}`);
        if (scaled.spec.scaleTargetRef.apiVersion !== 'apps/v1') p.push('scaleTargetRef.apiVersion is not apps/v1');
        if (trig.authenticationRef && !find('TriggerAuthentication', trig.authenticationRef.name)) p.push(`TriggerAuthentication ${trig.authenticationRef.name} is not rendered`);
        if (v.kafka.sasl?.enabled && !trig.authenticationRef) p.push('SASL is on but the trigger has no authenticationRef');
        if (v.kafka.sasl?.enabled && !md.sasl) p.push('SASL is on but the trigger metadata has no sasl mode');
        if (v.kafka.tls?.enabled && md.tls !== 'enable') p.push('TLS is on but the trigger metadata lacks tls: enable');
        return p;
      })());
    }
  }
  check(t('immutable fields stay stable across upgrades (selectors, claim templates)'), workloads.flatMap((w) => {
    const p = [];
    const stable = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component'];
    for (const k of Object.keys(w.spec?.selector?.matchLabels ?? {}))
      if (!stable.includes(k)) p.push(`${id(w)}: selector label ${k} may change between releases (selectors are immutable)`);
    for (const c of w.spec?.volumeClaimTemplates ?? [])
      for (const k of Object.keys(c.metadata?.labels ?? {}))
        if (!stable.includes(k)) p.push(`${id(w)}: claim template label ${k} may change between releases (volumeClaimTemplates are immutable)`);
    return p;
  }));
  check(t('no standalone PersistentVolumeClaim (state lives in StatefulSet claim templates)'), byKind('PersistentVolumeClaim').map((x) => `${id(x)} is rendered`));
  check(t('volume claim templates only on StatefulSets of stateful stages and of the lake sink'), workloads.flatMap((w) => {
    const s = stages.find((x) => x.name === w.metadata.labels?.['app.kubernetes.io/component']);
    const lake = w.metadata.labels?.['app.kubernetes.io/component'] === 'lake-sink';
    return (w.spec?.volumeClaimTemplates ?? []).length && !(w.kind === 'StatefulSet' && (s?.kind === 'stateful' || lake)) ? [`${id(w)} has volumeClaimTemplates`] : [];
  }));

  // -- selectors of Services, PDBs and ScaledObjects point at something --
  check(t('every Service selects exactly one workload, on ports its pods have'), byKind('Service').flatMap((svc) => {
    const ws = workloads.filter((w) => labelsMatch(svc.spec?.selector, podLabels(w)));
    if (ws.length !== 1) return [`${id(svc)} selects ${ws.length} workloads`];
    return (svc.spec.ports ?? []).map((pt) => (containersOf(ws[0]).some((c) => resolvePort(c, pt.targetPort ?? pt.port)) ? null : `${id(svc)} port ${pt.name}: targetPort ${pt.targetPort} is no container port`));
  }));
  check(t('every PodDisruptionBudget selects exactly one workload'), byKind('PodDisruptionBudget').map((b) => {
    const n = workloads.filter((w) => labelsMatch(b.spec?.selector, podLabels(w))).length;
    return n === 1 ? null : `${id(b)} selects ${n} workloads`;
  }));
  check(t('every ScaledObject targets a rendered workload'), scaledObjects.map((so) => {
    const ref = so.spec?.scaleTargetRef ?? {};
    return find(ref.kind ?? 'Deployment', ref.name) ? null : `${id(so)}: ${ref.kind}/${ref.name} is not rendered`;
  }));

  // -- Prometheus Operator objects --
  const sms = byKind('ServiceMonitor');
  check(t(`ServiceMonitor ${v.serviceMonitor?.enabled ? 'scrapes every workload exactly once' : 'absent'}`), (() => {
    if (!v.serviceMonitor?.enabled) return sms.map((x) => `${id(x)} rendered while disabled`);
    if (sms.length !== 1) return [`${sms.length} ServiceMonitors`];
    const sm = sms[0];
    const selected = byKind('Service').filter((svc) => labelsMatch(sm.spec.selector, svc.metadata.labels));
    const p = [];
    if (!selected.length) p.push('selects no Service');
    for (const ep of sm.spec.endpoints ?? [])
      for (const svc of selected) if (!(svc.spec.ports ?? []).some((x) => x.name === ep.port)) p.push(`${id(svc)} has no port ${ep.port}`);
    // Everything but the load generator and the console, which serve no metrics.
    for (const w of workloads.filter((x) => !['load-generator', 'console'].includes(x.metadata.labels?.['app.kubernetes.io/component']))) {
      const n = selected.filter((svc) => labelsMatch(svc.spec?.selector, podLabels(w))).length;
      if (n !== 1) p.push(`${id(w)} is behind ${n} scraped Services (${n ? 'scraped twice' : 'not scraped'})`);
    }
    return p;
  })());
  const prs = byKind('PrometheusRule');
  check(t(`PrometheusRule ${v.prometheusRule?.enabled ? 'holds the rule groups of files/alerts.yaml' : 'absent'}`), (() => {
    if (!v.prometheusRule?.enabled) return prs.map((x) => `${id(x)} rendered while disabled`);
    if (prs.length !== 1) return [`${prs.length} PrometheusRules`];
    const groups = prs[0].spec?.groups ?? [];
    const source = yaml.load(fs.readFileSync(path.join(CHART, 'files/alerts.yaml'), 'utf8'));
    const p = [];
    if (!groups.length) p.push('no groups');
    for (const g of groups) for (const r of g.rules ?? []) if (!r.expr || !(r.alert || r.record)) p.push(`group ${g.name}: a rule without expr and alert/record`);
    if (canonical(groups) !== canonical(source.groups)) p.push('the rendered groups differ from files/alerts.yaml');
    if (rulesOut && groups.length) fs.writeFileSync(rulesOut, yaml.dump({ groups }, { lineWidth: -1 }));
    return p;
  })());

  // -- the lag exporter --
  const lag = workloads.filter((w) => w.metadata.labels?.['app.kubernetes.io/component'] === 'lag-exporter');
  check(t(`lag exporter ${v.lagExporter?.enabled ? 'watches every stage\'s group, with flags it knows' : 'absent'}`), (() => {
    if (!v.lagExporter?.enabled) return lag.map((x) => `${id(x)} rendered while disabled`);
    if (lag.length !== 1) return [`${lag.length} lag exporter workloads`];
    const w = lag[0];
    const c = containersOf(w)[0];
    const p = [];
    if (w.kind !== 'Deployment' || w.spec.replicas !== 1) p.push('not a Deployment with 1 replica');
    if (c.command?.[0] !== '/usr/local/bin/streamwright-lag-exporter') p.push(`command ${c.command?.[0]}`);
    const known = LAG_EXPORTER_OPTIONS();
    for (const a of c.args ?? []) {
      const m = /^--([a-z][a-z0-9-]*)(=.*)?$/.exec(a);
      if (m && !known.has(m[1])) p.push(`--${m[1]} is not an option of streamwright-lag-exporter`);
    }
    const groups = (c.args ?? []).flatMap((a, i) => (a === '--group' ? [c.args[i + 1]] : []));
    for (const g of groups) if (!/^[^=]+=[^=,]+(,[^=,]+)*$/.test(g ?? '')) p.push(`--group ${g}: the exporter takes GROUP=TOPIC[,TOPIC...]`);
    if (topo) {
      const stageCfg = (s) => {
        const sw = stageWorkload(s.name)[0];
        if (s.kind === 'sink') return configFromArgs(sw ? containersOf(sw)[0].args : []);
        return yamlConfigFromEnv(sw ? envOf(containersOf(sw)[0]) : cmData);
      };
      for (const s of stages) {
        const want = `${app}-${s.name}=${topo.stages[s.name]?.inputs(stageCfg(s), app).join(',')}`;
        if (!groups.includes(want)) p.push(`no --group ${want}`);
      }
    }
    if (argValue(c.args, '--bootstrap-servers') !== v.kafka.bootstrapServers) p.push('--bootstrap-servers differs from kafka.bootstrapServers');
    if (v.kafka.sasl?.enabled) {
      // The exporter reads KAFKA_PROPERTY_* like the stages: credentials from the Secret, none in args.
      const kp = (c.args ?? []).flatMap((a, i) => (a === '--kafka-property' ? [c.args[i + 1]] : []));
      for (const [prop, name] of [['sasl.username', 'KAFKA_PROPERTY_SASL_USERNAME'], ['sasl.password', 'KAFKA_PROPERTY_SASL_PASSWORD']]) {
        if (kp.some((x) => x.startsWith(`${prop}=`))) p.push(`${prop} is on the exporter's command line`);
        if (!(c.env ?? []).find((e) => e.name === name)?.valueFrom?.secretKeyRef) p.push(`${name} does not come from a Secret`);
      }
    }
    return p;
  })());

  // -- the console (services/console): one replica reading Kafka and every stage's replicas --
  const consoles = workloads.filter((w) => w.metadata.labels?.['app.kubernetes.io/component'] === 'console');
  const cv = v.console ?? {};
  check(t(`console ${cv.enabled ? `reads ${cv.prometheusUrl ? 'Prometheus' : 'every stage\'s replicas through a headless Service'}, with flags it knows` : 'absent'}`), (() => {
    if (!cv.enabled) return consoles.map((x) => `${id(x)} rendered while disabled`);
    if (consoles.length !== 1) return [`${consoles.length} console workloads`];
    const w = consoles[0];
    const c = containersOf(w)[0];
    const p = [];
    if (w.kind !== 'Deployment' || w.spec.replicas !== 1) p.push('not a Deployment with 1 replica');
    if (c.command?.[0] !== '/usr/local/bin/streamwright-console') p.push(`command ${c.command?.[0]}`);
    const known = CONSOLE_OPTIONS();
    for (const a of c.args ?? []) {
      const m = /^--([a-z][a-z0-9-]*)(=.*)?$/.exec(a);
      if (m && !known.has(m[1])) p.push(`--${m[1]} is not an option of streamwright-console (it would exit with status 2)`);
    }
    if (argValue(c.args, '--topology') !== v.topology) p.push(`--topology ${argValue(c.args, '--topology')}, not ${v.topology}`);
    if (argValue(c.args, '--application-id') !== app) p.push(`--application-id ${argValue(c.args, '--application-id')}, not ${app}`);
    if (argValue(c.args, '--bootstrap-servers') !== v.kafka.bootstrapServers) p.push('--bootstrap-servers differs from kafka.bootstrapServers');
    if (argValue(c.args, '--address') !== '0.0.0.0') p.push('--address is not 0.0.0.0: the Service could not reach it');
    const urls = (c.args ?? []).flatMap((a, i) => (a === '--metrics-url' ? [c.args[i + 1]] : []));
    if (cv.prometheusUrl) {
      if (argValue(c.args, '--prometheus-url') !== cv.prometheusUrl) p.push('--prometheus-url differs from console.prometheusUrl');
      if (urls.length) p.push('--metrics-url given besides --prometheus-url');
    } else {
      for (const s of stages) {
        const sw = stageWorkload(s.name)[0];
        const url = urls.map((u) => u.replace(/^[a-z0-9-]+=(?=http)/, '')).find((u) => {
          const m = /^http:\/\/([^:/]+):(\d+)\/metrics$/.exec(u);
          const svc = m && find('Service', m[1]);
          // A headless Service selecting exactly this stage's pods, on the port they serve metrics on.
          return svc && svc.spec?.clusterIP === 'None' && sw && labelsMatch(svc.spec.selector, podLabels(sw)) &&
            (svc.spec.ports ?? []).some((pt) => String(pt.port) === m[2] && containersOf(sw).some((sc) => resolvePort(sc, pt.targetPort ?? pt.port)));
        });
        if (!url) p.push(`no --metrics-url reaching every replica of ${s.name} (a headless Service selecting its pods)`);
        const named = urls.find((u) => u.startsWith(`${s.name}=`));
        if (s.kind !== 'sink' && !named) p.push(`${s.name}'s --metrics-url does not name its stage`);
      }
    }
    if (Number(argValue(c.args, '--port')) !== cv.port) p.push(`--port ${argValue(c.args, '--port')}, not console.port ${cv.port}`);
    const svc = byKind('Service').find((x) => labelsMatch(x.spec?.selector, podLabels(w)));
    if (!svc) p.push('no Service for the console');
    else if (!(svc.spec.ports ?? []).some((pt) => pt.port === cv.service?.port && resolvePort(c, pt.targetPort))) p.push(`its Service has no port ${cv.service?.port} to the console's`);
    return p;
  })());

  // -- the load generator --
  const gens = workloads.filter((w) => w.metadata.labels?.['app.kubernetes.io/component'] === 'load-generator');
  const lgv = v.loadGenerator ?? {};
  check(t(`load generator ${lgv.enabled ? `runs streamwright-loadgen --mode ${topo?.loadgenMode}, ${lgv.replicas} x ${lgv.ratePerReplica}/s, on the input topic` : 'absent'}`), (() => {
    if (!lgv.enabled) return gens.map((x) => `${id(x)} rendered while disabled`);
    if (gens.length !== 1) return [`${gens.length} load generator workloads`];
    const w = gens[0];
    const c = containersOf(w)[0];
    const env = envOf(c);
    const p = [];
    if (w.kind !== 'Deployment') p.push(`a ${w.kind}, not a Deployment`);
    if (w.spec.replicas !== lgv.replicas) p.push(`replicas ${w.spec.replicas}, not ${lgv.replicas}`);
    if (c.command?.[0] !== '/usr/local/bin/streamwright-loadgen') p.push(`command ${c.command?.[0]}`);
    const known = LOADGEN_OPTIONS();
    for (const a of c.args ?? []) {
      const m = /^--([a-z][a-z0-9-]*)(=.*)?$/.exec(a);
      if (m && !known.has(m[1])) p.push(`--${m[1]} is not an option of streamwright-loadgen`);
    }
    if (argValue(c.args, '--mode') !== topo?.loadgenMode) p.push(`--mode ${argValue(c.args, '--mode')}, not ${topo?.loadgenMode}`);
    // The seed's variables (services/loadgen honours them; flags win, so none of these as flags).
    for (const f of ['--bootstrap-servers', '--topic', '--rate']) if ((c.args ?? []).includes(f)) p.push(`${f} on the command line would override the seed's variables`);
    const broker = (c.env ?? []).find((e) => e.name === 'KAFKA_BROKER');
    const brokerValue = broker?.value ?? (broker?.valueFrom?.configMapKeyRef?.name === cm?.metadata?.name ? cmData[broker.valueFrom.configMapKeyRef.key] : undefined);
    if (brokerValue !== v.kafka.bootstrapServers) p.push(`KAFKA_BROKER is ${brokerValue}, not kafka.bootstrapServers`);
    const first = stages[0];
    const firstW = first && stageWorkload(first.name)[0];
    const inputs = topo && first ? topo.stages[first.name].inputs(yamlConfigFromEnv(firstW ? envOf(containersOf(firstW)[0]) : cmData), app) : [];
    const topicWanted = lgv.topic || inputs[0];
    if (env.KAFKA_TOPIC !== topicWanted) p.push(`KAFKA_TOPIC is ${env.KAFKA_TOPIC}, not ${topicWanted} (what ${first?.name} reads)`);
    if (v.topology === 'telemetra' && argValue(c.args, '--viewer-topic') !== inputs[1]) p.push(`--viewer-topic ${argValue(c.args, '--viewer-topic')}, not ${inputs[1]}`);
    if (env.TARGET_RPS !== String(lgv.ratePerReplica)) p.push(`TARGET_RPS is ${env.TARGET_RPS}, not ${lgv.ratePerReplica}`);
    if (lgv.additionalTerm) {
      if (env.ADDITIONAL_TERM !== lgv.additionalTerm) p.push(`ADDITIONAL_TERM is ${env.ADDITIONAL_TERM}`);
      if (Number(env.ADDITIONAL_TERM_RATE) !== Number(lgv.additionalTermRate)) p.push(`ADDITIONAL_TERM_RATE is ${env.ADDITIONAL_TERM_RATE}, not ${lgv.additionalTermRate}`);
    } else if ('ADDITIONAL_TERM' in env || 'ADDITIONAL_TERM_RATE' in env) p.push('ADDITIONAL_TERM* set without loadGenerator.additionalTerm');
    return p;
  })());

  // -- the lake sink (services/lake-sink): its tables on a volume every replica shares --
  const lakes = workloads.filter((w) => w.metadata.labels?.['app.kubernetes.io/component'] === 'lake-sink');
  const lsv = v.lakeSink ?? {};
  check(t(`lake sink ${lsv.enabled ? `writes ${(lsv.tables ?? []).length} tables on ${lsv.storage?.existingClaim ? `claim ${lsv.storage.existingClaim}` : 'its own claim'}, with flags it knows` : 'absent'}`), (() => {
    if (!lsv.enabled) return lakes.map((x) => `${id(x)} rendered while disabled`);
    if (lakes.length !== 1) return [`${lakes.length} lake sink workloads`];
    const w = lakes[0];
    const c = containersOf(w)[0];
    const env = envOf(c);
    const p = [];
    if (w.kind !== 'StatefulSet') p.push(`a ${w.kind}, not a StatefulSet`);
    if (w.spec.replicas !== (lsv.replicas ?? 1)) p.push(`replicas ${w.spec.replicas}, not ${lsv.replicas ?? 1}`);
    if (c.command?.[0] !== '/usr/local/bin/streamwright-lake-sink') p.push(`command ${c.command?.[0]}`);
    const known = optionsIn('services/lake-sink/config.cpp', SHELL);
    for (const a of c.args ?? []) {
      const m = /^--([a-z][a-z0-9-]*)(=.*)?$/.exec(a);
      if (m && !known.has(m[1])) p.push(`--${m[1]} is not an option of streamwright-lake-sink (it would exit with status 2)`);
    }
    for (const k of Object.keys(env)) if (k.startsWith('STREAMWRIGHT_')) p.push(`${k}: options reach the sink as flags`);
    const bootstrap = (c.env ?? []).find((e) => e.name === 'KAFKA_BOOTSTRAP_SERVERS')?.valueFrom?.configMapKeyRef;
    if (!(bootstrap && bootstrap.name === cm?.metadata?.name && cmData[bootstrap.key] === v.kafka.bootstrapServers))
      p.push('KAFKA_BOOTSTRAP_SERVERS is not the chart\'s kafka.bootstrapServers');
    if (argValue(c.args, '--metrics-port') !== String(v.metrics.port)) p.push(`--metrics-port ${argValue(c.args, '--metrics-port')}, not ${v.metrics.port}`);
    if (argValue(c.args, '--group-id') !== (lsv.groupId || `${app}-lake-sink`)) p.push(`--group-id ${argValue(c.args, '--group-id')}`);
    // Every table on the lake volume: a claim template of one replica, or a shared existing claim.
    const mounts = c.volumeMounts ?? [];
    const lakeMount = mounts.find((m) => m.mountPath === lsv.storage?.mountPath);
    if (!lakeMount || lakeMount.readOnly) p.push(`${lsv.storage?.mountPath} is not a writable mount`);
    const claimTemplate = (w.spec.volumeClaimTemplates ?? []).find((x) => x.metadata?.name === lakeMount?.name);
    const shared = (w.spec.template.spec.volumes ?? []).find((x) => x.name === lakeMount?.name)?.persistentVolumeClaim;
    if (lsv.storage?.existingClaim) {
      if (shared?.claimName !== lsv.storage.existingClaim) p.push(`the lake volume is not claim ${lsv.storage.existingClaim}`);
      if (claimTemplate) p.push('a claim template next to the existing claim');
    } else {
      if (!claimTemplate) p.push('the lake volume is neither a claim template nor an existing claim');
      else if (claimTemplate.spec?.resources?.requests?.storage !== (lsv.storage?.size ?? '50Gi')) p.push(`claim requests ${claimTemplate.spec?.resources?.requests?.storage}`);
      if ((w.spec.replicas ?? 1) > 1) p.push('several replicas, each with its own volume: each would write its own copy of the tables');
    }
    const tables = (c.args ?? []).flatMap((a, i) => (a === '--table' ? [c.args[i + 1]] : []));
    const wanted = (lsv.tables ?? []).map((x) => `${x.topic}=${lsv.storage?.mountPath}/${x.table}`);
    if (canonical(tables) !== canonical(wanted)) p.push(`--table ${tables.join(' ')}, not ${wanted.join(' ')}`);
    for (const x of lsv.tables ?? []) {
      if (x.partitionBy && !(c.args ?? []).includes(`${x.topic}=${x.partitionBy}`)) p.push(`${x.topic}: --partition-by ${x.partitionBy} missing`);
      if (x.schema) {
        const file = (c.args ?? []).find((a) => a.startsWith(`${x.topic}=/`) && a.endsWith('.schema.json'))?.slice(x.topic.length + 1);
        const mount = file && mounts.find((m) => file.startsWith(m.mountPath + '/'));
        const vol = mount && (w.spec.template.spec.volumes ?? []).find((y) => y.name === mount.name);
        const map = vol?.configMap && find('ConfigMap', vol.configMap.name);
        const text = map?.data?.[file.slice(mount.mountPath.length + 1)];
        if (!text) p.push(`${x.topic}: --schema ${file} is not a key of a mounted ConfigMap`);
        else if (canonical(JSON.parse(text)) !== canonical(x.schema)) p.push(`${x.topic}: the mounted schema differs from lakeSink.tables[].schema`);
      }
    }
    for (const [k, val] of Object.entries(lsv.config ?? {})) {
      const flag = `--${camelToKebab(k)}`;
      if (argValue(c.args, flag) !== String(val)) p.push(`config.${k} ${val} does not reach the sink as ${flag} (${argValue(c.args, flag)})`);
    }
    return p;
  })());
  finish();
}

// JSON with sorted keys: equal for equal data whatever the key order.
function canonical(x) {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x && typeof x === 'object') return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical(x[k])}`).join(',')}}`;
  return JSON.stringify(x);
}
function argValue(args, flag) {
  const i = (args ?? []).indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}
// --summary-topic x --batch-rows 5 -> { summaryTopic: 'x', batchRows: '5' }
function configFromArgs(args) {
  const out = {};
  for (const [i, a] of (args ?? []).entries()) {
    const m = /^--([a-z][a-z0-9-]*)$/.exec(a);
    if (m && i + 1 < args.length && !String(args[i + 1]).startsWith('--'))
      out[m[1].replace(/-([a-z0-9])/g, (_, ch) => ch.toUpperCase())] = args[i + 1];
  }
  return out;
}
// STREAMWRIGHT_INPUT_TOPIC=logs -> { inputTopic: 'logs' }
function yamlConfigFromEnv(env) {
  const out = {};
  for (const [k, val] of Object.entries(env))
    if (k.startsWith('STREAMWRIGHT_')) out[k.slice(13).toLowerCase().replace(/_([a-z0-9])/g, (_, ch) => ch.toUpperCase())] = val;
  return out;
}
function chartAppVersion() {
  return yaml.load(fs.readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')).appVersion;
}

// ---- unknown fields: TypeScript's excess-property check against the models' declarations --------
function fields(workdir, files) {
  fs.mkdirSync(workdir, { recursive: true });
  const imports = new Map();
  const lines = [];
  const where = [];
  for (const file of files) {
    for (const d of loadDocs(file)) {
      let mod;
      if (d.apiVersion === 'monitoring.coreos.com/v1') mod = `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${d.kind}`;
      else if (modelFor(d.apiVersion, d.kind)) mod = `kubernetes-models/${d.apiVersion}/${d.kind}`;
      else continue;  // KEDA: checked by hand in `manifests`
      const type = `I${d.kind}_${imports.size}`;
      if (![...imports.values()].some((x) => x.mod === mod)) imports.set(mod, { mod, type });
      lines.push(`export const o${lines.length}: ${imports.get(mod).type} = ${JSON.stringify(d)};`);
      where.push(`${path.basename(file, '.yaml')}: ${id(d)}`);
    }
  }
  const header = [...imports.values()].map(({ mod, type }) => `import type { I${path.basename(mod)} as ${type} } from "${mod}";`);
  fs.writeFileSync(path.join(workdir, 'manifests.ts'), [...header, ...lines, ''].join('\n'));
  fs.writeFileSync(path.join(workdir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      noEmit: true, strict: true, skipLibCheck: true, types: [], target: 'es2020', module: 'commonjs', moduleResolution: 'node',
      baseUrl: path.join(NODE_TOOLS, 'node_modules'),  // where the model packages are
    },
    files: ['manifests.ts'],
  }));
  let out = '';
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(workdir, 'tsconfig.json')], { encoding: 'utf8' });
  } catch (e) {
    out = String(e.stdout ?? '') + String(e.stderr ?? '');
  }
  const problems = [];
  for (const line of out.split('\n')) {
    const m = /manifests\.ts\((\d+),\d+\): error TS\d+: (.*)/.exec(line);
    if (m) problems.push(`${where[Number(m[1]) - header.length - 1] ?? 'line ' + m[1]}: ${m[2].replace(/in type '\{.*\}'/, 'in its type')}`);
    else if (line.trim() && !/^\s/.test(line)) problems.push(line.trim());
  }
  check(`no unknown or misplaced fields in ${lines.length} objects of ${files.length} renders (TypeScript excess-property check)`, problems);
  finish();
}

// The sources that define a topology's build() (topologies/<prefix>*.cpp with a
// `Topology build(` definition): where its stage, repartition and store names are given.
function buildSource(prefix) {
  const dir = path.join(REPO, 'topologies');
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.cpp')).sort()
    .filter((f) => /^Topology build\(/m.test(fs.readFileSync(path.join(dir, f), 'utf8')));
  return {
    files: files.length ? files.map((f) => `topologies/${f}`).join(', ') : `topologies/${prefix}*.cpp`,
    src: files.map((f) => read(`topologies/${f}`)).join('\n'),
    problems: files.length ? [] : [`no topologies/${prefix}*.cpp defines Topology build(`],
  };
}

// ---- the schema's crash-monitor options = the C++ options -----------------------------------------
function optionsCheck() {
  const schema = JSON.parse(fs.readFileSync(path.join(CHART, 'values.schema.json'), 'utf8'));
  const listed = new Set(schema.definitions.crashMonitorConfig.propertyNames.enum.map(camelToKebab));
  const managed = new Set(schema.definitions.config.propertyNames.not.enum.map(camelToKebab));
  const cpp = topologyOptions('crash-monitor');
  const p = [];
  for (const o of cpp.keys()) if (!listed.has(o) && !managed.has(o)) p.push(`--${o} (C++) is neither in crashMonitorConfig nor set by the chart`);
  for (const o of listed) if (!cpp.has(o)) p.push(`${o} is in crashMonitorConfig but not an option of streamwright-crash-monitor`);
  check(`values.schema.json lists the ${cpp.size} options of streamwright-crash-monitor (C++: service.cpp, topologies/crash_monitor_pipeline.cpp)`, p);
  const cm = buildSource('crash_monitor');
  check(`the chart's crash-monitor stages (parse, aggregate, crashes-by-user) exist in ${cm.files}`,
    cm.problems.concat(['"parse"', '"aggregate"', '"crashes-by-user"'].map((s) => (cm.src.includes(s) ? null : `${s} not found`))));
  check('streamwright-crash-monitor is the executable of crash-monitor (topologies/crash_monitor_pipeline.cpp)',
    registryExecutable('crash-monitor') === 'streamwright-crash-monitor' ? [] : [`registry says ${registryExecutable('crash-monitor')}`]);
  const rfListed = new Set(schema.definitions.renderFarmConfig.propertyNames.enum.map(camelToKebab));
  const rf = topologyOptions('render-farm');
  const q = [];
  for (const o of rf.keys()) if (!rfListed.has(o) && !managed.has(o)) q.push(`--${o} (C++) is neither in renderFarmConfig nor set by the chart`);
  for (const o of rfListed) if (!rf.has(o)) q.push(`${o} is in renderFarmConfig but not an option of streamwright-render-farm`);
  check(`values.schema.json lists the ${rf.size} options of streamwright-render-farm (C++: service.cpp, topologies/render_farm_pipeline.cpp)`, q);
  const rfb = buildSource('render_farm');
  check(`the chart's render-farm stages (enrich, aggregate, node-aggregate, frames-by-scene, frames-by-node) exist in ${rfb.files}`,
    rfb.problems.concat(['"enrich"', '"aggregate"', '"node-aggregate"', '"frames-by-scene"', '"frames-by-node"'].map((x) => (rfb.src.includes(x) ? null : `${x} not found`))));
  check('streamwright-render-farm is the executable of render-farm (its topologies/*_pipeline.cpp)',
    registryExecutable('render-farm') === 'streamwright-render-farm' ? [] : [`registry says ${registryExecutable('render-farm')}`]);
  const tmListed = new Set(schema.definitions.telemetraConfig.propertyNames.enum.map(camelToKebab));
  const tm = topologyOptions('telemetra');
  const r = [];
  for (const o of tm.keys()) if (!tmListed.has(o) && !managed.has(o)) r.push(`--${o} (C++) is neither in telemetraConfig nor set by the chart`);
  for (const o of tmListed) if (!tm.has(o)) r.push(`${o} is in telemetraConfig but not an option of streamwright-telemetra`);
  check(`values.schema.json lists the ${tm.size} options of streamwright-telemetra (C++: service.cpp, topologies/telemetra_pipeline.cpp)`, r);
  const sinkMain = TOPOLOGIES.telemetra.stages.sink.main;
  const sinkOpts = SINK_OPTIONS(sinkMain);
  const stageListed = new Set(schema.definitions.telemetraStageConfig.propertyNames.enum.map(camelToKebab));
  const sinkOnly = [...stageListed].filter((o) => !tmListed.has(o));
  // Set by the chart (flags of their own) or secrets (never values): not in the schema.
  const sinkManaged = new Set(['help', 'bootstrap-servers', 'postgres-url', 'postgres-user', 'postgres-password', 'postgres-password-file',
    'group-id', 'kafka-property', 'kafka-properties-file', 'metrics-address', 'metrics-port']);
  const q2 = [];
  for (const o of sinkOpts.keys()) if (!sinkManaged.has(o) && !stageListed.has(o)) q2.push(`--${o} (C++) is neither in telemetraStageConfig nor set by the chart`);
  for (const o of sinkOnly) if (!sinkOpts.has(o)) q2.push(`${o} is in telemetraStageConfig but not an option of the sink or the stages`);
  const helpers = fs.readFileSync(path.join(CHART, 'templates/_helpers.tpl'), 'utf8');
  const sinkBlock = /define "streamwright.sinkOptions"[\s\S]*?\{\{- end \}\}/.exec(helpers)?.[0] ?? '';
  const passed = new Map([...sinkBlock.matchAll(/^([a-zA-Z]+): --([a-z-]+)$/gm)].map((m) => [m[1], m[2]]));
  for (const [k, flag] of passed) {
    if (camelToKebab(k) !== flag) q2.push(`streamwright.sinkOptions: ${k} becomes --${flag}, not --${camelToKebab(k)}`);
    if (!sinkOpts.has(flag)) q2.push(`streamwright.sinkOptions passes --${flag}, which the sink does not have`);
  }
  for (const o of sinkOpts.keys()) if (!sinkManaged.has(o) && ![...passed.values()].includes(o)) q2.push(`--${o} of the sink is not passed by streamwright.sinkOptions`);
  check(`values.schema.json and the chart know the ${sinkOpts.size} options of streamwright-telemetra-sink (${sinkMain})`, q2);
  const tb = buildSource('telemetra');
  check(`the chart's telemetra stages (parse, aggregate, events-by-stream) exist in ${tb.files}`,
    tb.problems.concat(['"parse"', '"aggregate"', '"events-by-stream"'].map((x) => (tb.src.includes(x) ? null : `${x} not found`))));
  check('streamwright-telemetra is the executable of telemetra (its topologies/*_pipeline.cpp)',
    registryExecutable('telemetra') === 'streamwright-telemetra' ? [] : [`registry says ${registryExecutable('telemetra')}`]);
  const lagOpts = LAG_EXPORTER_OPTIONS();
  check('streamwright-lag-exporter has the flags the chart passes',
    ['bootstrap-servers', 'group', 'port', 'interval', 'log-level', 'kafka-property'].map((o) => (lagOpts.has(o) ? null : `--${o} missing`)));
  finish();
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'manifests') manifests(rest[0], rest[1], rest[2]);
else if (mode === 'fields') fields(rest[0], rest.slice(1));
else if (mode === 'options') optionsCheck();
else {
  console.error('usage: validate.mjs manifests RENDERED VALUES [RULES_OUT] | fields WORKDIR RENDERED... | options');
  process.exit(2);
}
