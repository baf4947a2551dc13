// Checks rendered Kubernetes manifests (the output of `kubectl kustomize`) the
// way a cluster would, and more strictly: tests/k8s/run.sh calls it once with
// every overlay of deploy/k8s and every planted bad fixture of
// tests/k8s/fixtures, after `npm ci` of this folder's package.json.
//
//   node check_manifests.cjs --work DIR --configs deploy/configs --gpu-overlay gpu \
//       --overlay cpu=cpu.yaml ... --fixture misspelled_field=fixtures/misspelled_field.yaml ...
//
// Checks of each set of objects:
//   schema       every object validates against the Kubernetes OpenAPI schema
//                (kubernetes-models; prometheus-operator's for PodMonitor)
//   types        every object type-checks as its I<Kind> interface under
//                `tsc --strict`: a misspelled field fails here, which the
//                schemas (open to unknown fields) let through
//   api-versions every apiVersion is on the allowlist below
//   consistency  one image for every container; ports, probes, Services,
//                addresses, the NetworkPolicy and the PodMonitor agree with
//                each other; every FLAGS_* variable is read by its process;
//                mutual TLS in every process or none, from a mounted Secret,
//                with probes that can speak it; requests and limits everywhere; GPUs only for
//                the learner, and only in the --gpu-overlay; the ConfigMap
//                holds exactly the configs in --configs; the learner's
//                data-parallel ranks: a StatefulSet whose replicas are its
//                world size, each pod's rank its ordinal, every rank reaching
//                rank 0's store and the others on any port, and the address
//                actors dial reaching rank 0 alone (or a Deployment of one
//                learner, world size 1)
// An overlay passes a check when nothing is wrong; a fixture passes "rejects
// <fixture>" when the check named on its `# expect: CHECK: TEXT` line finds
// it wrong for the reason TEXT (a part of the message), so that a fixture
// wrong in some other, unplanned way does not pass. Prints one line per
// check, `PASS <name>` or `FAIL <name>: <why>`, and exits 1 if any failed.
// `--work DIR` holds node_modules (tsc) and receives the generated .ts files.
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const YAML = require("yaml");

const ALLOWED_API_VERSIONS = new Set(["v1", "apps/v1", "policy/v1", "networking.k8s.io/v1", "monitoring.coreos.com/v1"]);

// "apiVersion/kind" -> module exporting the model class and its I<Kind> type.
const MODELS = {
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/PersistentVolumeClaim": "kubernetes-models/v1/PersistentVolumeClaim",
  "v1/Service": "kubernetes-models/v1/Service",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "apps/v1/StatefulSet": "kubernetes-models/apps/v1/StatefulSet",
  "policy/v1/PodDisruptionBudget": "kubernetes-models/policy/v1/PodDisruptionBudget",
  "networking.k8s.io/v1/NetworkPolicy": "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
  "monitoring.coreos.com/v1/PodMonitor": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
};

function parseArgs(argv) {
  const args = { overlays: [], fixtures: [], work: null, configs: null, gpuOverlay: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--overlay" || flag === "--fixture") {
      const eq = value.indexOf("=");
      if (eq < 0) throw new Error(`${flag} ${value}: expected NAME=FILE`);
      (flag === "--overlay" ? args.overlays : args.fixtures).push({ name: value.slice(0, eq), file: value.slice(eq + 1) });
    } else if (flag === "--work") args.work = value;
    else if (flag === "--configs") args.configs = value;
    else if (flag === "--gpu-overlay") args.gpuOverlay = value;
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!args.work) throw new Error("--work DIR is required");
  return args;
}

function loadObjects(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
    const object = doc.toJSON();
    if (object !== null && object !== undefined) objects.push(object);
  }
  return objects;
}

function describe(object) {
  return `${object.kind || "?"}/${(object.metadata && object.metadata.name) || "?"}`;
}

// ---------------------------------------------------------------- schema

function checkSchema(objects) {
  const problems = [];
  for (const object of objects) {
    const module = MODELS[`${object.apiVersion}/${object.kind}`];
    if (!module) {
      problems.push(`${describe(object)}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    const Model = require(module)[object.kind];
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${describe(object)}: ${String(error.message).split("\n")[0]}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------- types

// Writes one TypeScript file per set, each object a literal typed as its
// I<Kind>, and type-checks them all in one tsc run. Returns set name ->
// problems.
function checkTypes(sets, work) {
  const dir = path.join(work, "typed");
  fs.mkdirSync(dir, { recursive: true });
  const ranges = {};  // file -> [{first, last, what}]
  const files = [];
  for (const set of sets) {
    const imports = new Set();
    const body = [];
    const spans = [];
    let line = 1;
    set.objects.forEach((object, index) => {
      const module = MODELS[`${object.apiVersion}/${object.kind}`];
      if (!module) return;  // reported by the schema check
      imports.add(`import type { I${object.kind} } from "${module}";`);
      const literal = JSON.stringify(object, null, 2);
      spans.push({ first: line, last: line + literal.split("\n").length - 1, what: describe(object) });
      body.push(`export const object${index}: I${object.kind} = ${literal};`);
      line += literal.split("\n").length;
    });
    const header = [...imports];
    const offset = header.length;
    for (const span of spans) {
      span.first += offset;
      span.last += offset;
    }
    const file = path.join(dir, `${set.name}.ts`);
    fs.writeFileSync(file, header.concat(body).join("\n") + "\n");
    ranges[path.basename(file)] = spans;
    files.push(file);
  }
  const problems = Object.fromEntries(sets.map((set) => [set.name, []]));
  if (files.length === 0) return problems;
  const tsc = path.join(work, "node_modules", ".bin", "tsc");
  let output = "";
  try {
    execFileSync(tsc, ["--noEmit", "--strict", "--skipLibCheck", "--target", "es2020", "--module", "commonjs",
                       "--moduleResolution", "node", "--pretty", "false", ...files],
                 { cwd: work, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    output = `${error.stdout || ""}${error.stderr || ""}`;
    if (!/error TS\d+/.test(output)) throw new Error(`tsc failed to run: ${output || error.message}`);
  }
  // typed/cpu.ts(12,7): error TS2353: Object literal may only specify known properties, ...
  for (const match of output.matchAll(/([^\s(]+\.ts)\((\d+),\d+\): error (TS\d+: .*)/g)) {
    const base = path.basename(match[1]);
    const at = Number(match[2]);
    const span = (ranges[base] || []).find((s) => at >= s.first && at <= s.last);
    problems[base.replace(/\.ts$/, "")].push(`${span ? span.what : `line ${at}`}: ${match[3]}`);
  }
  return problems;
}

// ---------------------------------------------------------------- api-versions

function checkApiVersions(objects) {
  return objects.filter((o) => !ALLOWED_API_VERSIONS.has(o.apiVersion))
      .map((o) => `${describe(o)}: apiVersion ${o.apiVersion} is not allowed (allowed: ${[...ALLOWED_API_VERSIONS].join(", ")})`);
}

// ---------------------------------------------------------------- consistency

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet"]);

function envOf(container) {
  const env = {};
  for (const item of container.env || []) env[item.name] = item.value;
  return env;
}

// Flag names a process reads from FLAGS_<name> variables: every
// --fromenv= and --tryfromenv= list in its command and args (the actors'
// shell script included).
function flagsFromEnv(argv) {
  const names = new Set();
  for (const arg of argv || []) {
    for (const match of String(arg).matchAll(/--(?:try)?fromenv=([A-Za-z0-9_,]+)/g)) {
      for (const name of match[1].split(",")) if (name) names.add(name);
    }
  }
  return names;
}

function commandLine(container) {
  return [...(container.command || []), ...(container.args || [])];
}

// A flag's value as the process sees it: --name=value in its arguments, or
// FLAGS_name when it reads that from the environment; undefined otherwise.
function flagValue(container, name, argv = commandLine(container)) {
  for (const arg of argv) {
    const match = new RegExp(`(?:^|\\s)--${name}=(\\S+)`).exec(String(arg));
    if (match) return match[1];
  }
  return flagsFromEnv(argv).has(name) ? envOf(container)[`FLAGS_${name}`] : undefined;
}

const TLS_FLAGS = ["tls_cert", "tls_key", "tls_ca"];

// What a probe checks: {grpc: port} for the kubelet's gRPC probe,
// {health: port, tls} for an exec of `rill health` / `rill-replay health`
// (it dials 127.0.0.1:--port, reading flags from the container's own
// environment), or null for anything else.
function probeTarget(container, probe) {
  if (!probe) return null;
  if (probe.grpc) return { grpc: probe.grpc.port };
  const command = (probe.exec && probe.exec.command) || [];
  const binary = String(command[0] || "").split("/").pop();
  if (!["rill", "rill-replay"].includes(binary) || command[1] !== "health") return null;
  const port = flagValue(container, "port", command.slice(2));
  return { health: port === undefined ? undefined : Number(port),
           tls: TLS_FLAGS.every((flag) => flagValue(container, flag, command.slice(2)) !== undefined) };
}

function labelsMatch(selector, labels) {
  return Object.entries(selector || {}).every(([key, value]) => labels[key] === value);
}

function expressionsMatch(selector, labels) {
  if (!selector) return true;
  if (!labelsMatch(selector.matchLabels, labels)) return false;
  return (selector.matchExpressions || []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === "In") return has && e.values.includes(labels[e.key]);
    if (e.operator === "NotIn") return !has || !e.values.includes(labels[e.key]);
    if (e.operator === "Exists") return has;
    if (e.operator === "DoesNotExist") return !has;
    return false;
  });
}

function splitAddress(address) {
  const colon = address.lastIndexOf(":");
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

function containerPort(container, nameOrNumber) {
  for (const port of container.ports || []) {
    if (port.name === nameOrNumber || port.containerPort === nameOrNumber) return port.containerPort;
  }
  return undefined;
}

// The environment variable a container sets, as written (with value or
// valueFrom), or undefined.
function envItem(container, name) {
  return (container.env || []).find((item) => item.name === name);
}

function replicasOf(workload) {
  return workload.spec.replicas === undefined ? 1 : workload.spec.replicas;
}

// The labels each pod of a workload carries: its template's, and for a
// StatefulSet also the two its controller adds to pod i (its name,
// <set>-<i>, and its ordinal), which Services may select one pod by.
// ordinal is null for a Deployment's pods (all alike).
const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
const POD_INDEX_FIELD = `metadata.labels['${POD_INDEX_LABEL}']`;
function podsOf(workload) {
  const labels = workload.spec.template.metadata.labels || {};
  if (workload.kind !== "StatefulSet") return [{ ordinal: null, labels }];
  return Array.from({ length: replicasOf(workload) }, (_, i) => ({
    ordinal: i,
    labels: { ...labels, [POD_NAME_LABEL]: `${workload.metadata.name}-${i}`, [POD_INDEX_LABEL]: String(i) },
  }));
}

// topology.num_learners of the config a container reads from the ConfigMap
// (1 when the config leaves it out, or cannot be read here).
function numLearnersOf(container, configMap) {
  const config = envOf(container).FLAGS_config;
  const text = configMap && config ? (configMap.data || {})[config.split("/").pop()] : undefined;
  const match = text && /\bnum_learners\s*:\s*(\d+)/.exec(text.replace(/#.*$/gm, ""));
  return match && Number(match[1]) > 0 ? Number(match[1]) : 1;
}

function checkConsistency(objects, options) {
  const problems = [];
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const services = objects.filter((o) => o.kind === "Service");
  const byComponent = {};
  for (const workload of workloads) {
    const component = (workload.spec.template.metadata.labels || {})["app.kubernetes.io/component"];
    if (!component) problems.push(`${describe(workload)}: pods have no app.kubernetes.io/component label`);
    byComponent[component] = workload;
    if (!labelsMatch(workload.spec.selector.matchLabels, workload.spec.template.metadata.labels || {})) {
      problems.push(`${describe(workload)}: selector does not match its own pod labels`);
    }
  }

  // One image for every role.
  const images = new Set();
  for (const workload of workloads) {
    const spec = workload.spec.template.spec;
    for (const container of [...(spec.initContainers || []), ...spec.containers]) images.add(container.image);
  }
  if (images.size !== 1) problems.push(`containers use ${images.size} images (${[...images].join(", ")}), want one`);

  // Requests and limits on every container; GPUs for the learner only.
  let learnerGpus = 0;
  for (const workload of workloads) {
    for (const container of workload.spec.template.spec.containers) {
      const resources = container.resources || {};
      for (const kind of ["requests", "limits"]) {
        for (const resource of ["cpu", "memory"]) {
          if (!resources[kind] || resources[kind][resource] === undefined) {
            problems.push(`${describe(workload)}: container ${container.name} has no ${kind}.${resource}`);
          }
        }
      }
      const gpu = (resources.limits || {})["nvidia.com/gpu"] || (resources.requests || {})["nvidia.com/gpu"];
      if (gpu !== undefined) {
        if (workload !== byComponent.learner) problems.push(`${describe(workload)}: only the learner may ask for a GPU`);
        else learnerGpus = Number((resources.limits || {})["nvidia.com/gpu"] || 0);
      }
    }
  }
  if (options.gpu && learnerGpus !== 1) problems.push(`the learner's limits ask for ${learnerGpus} nvidia.com/gpu, want 1`);
  if (!options.gpu && learnerGpus !== 0) problems.push(`the learner asks for a GPU outside the GPU overlay`);

  // The experiment configs: the ConfigMap holds every config, and every
  // FLAGS_config names one of them where the ConfigMap is mounted.
  const configMaps = objects.filter((o) => o.kind === "ConfigMap");
  const configMap = configMaps.find((o) => o.metadata.name.startsWith("rill-configs"));
  if (options.configs) {
    const want = fs.readdirSync(options.configs).filter((f) => f.endsWith(".textpb")).sort();
    const have = configMap ? Object.keys(configMap.data || {}).sort() : [];
    if (JSON.stringify(want) !== JSON.stringify(have)) {
      problems.push(`ConfigMap rill-configs holds [${have.join(", ")}], deploy/configs has [${want.join(", ")}]`);
    }
  }
  for (const workload of workloads) {
    const spec = workload.spec.template.spec;
    for (const container of spec.containers) {
      const config = envOf(container).FLAGS_config;
      if (!config) continue;
      const mount = (container.volumeMounts || []).find((m) => config.startsWith(`${m.mountPath}/`));
      const volume = mount && (spec.volumes || []).find((v) => v.name === mount.name);
      const key = mount ? config.slice(mount.mountPath.length + 1) : null;
      if (!volume || !volume.configMap || !configMap || volume.configMap.name !== configMap.metadata.name ||
          !Object.prototype.hasOwnProperty.call(configMap.data || {}, key)) {
        problems.push(`${describe(workload)}: FLAGS_config ${config} is not a file of the mounted ConfigMap`);
      }
    }
  }

  // Ports: what each process binds (its FLAGS_*), what the pod declares,
  // what probes, Services, addresses, the NetworkPolicy and the PodMonitor
  // point at.
  const hostNetwork = workloads.some((w) => w.spec.template.spec.hostNetwork);
  if (hostNetwork && !workloads.every((w) => w.spec.template.spec.hostNetwork)) {
    problems.push("some pods use the host's network and some do not");
  }
  const grpcPortOf = {};  // component -> port its process binds
  for (const workload of workloads) {
    const component = workload.spec.template.metadata.labels["app.kubernetes.io/component"];
    for (const container of workload.spec.template.spec.containers) {
      const env = envOf(container);
      const where = `${describe(workload)}: container ${container.name}`;
      if (env.FLAGS_port !== undefined) grpcPortOf[component] = Number(env.FLAGS_port);
      if (hostNetwork) {
        if ((container.ports || []).length > 0) problems.push(`${where}: declares ports on the host network`);
        if (env.FLAGS_host !== undefined && env.FLAGS_host !== "127.0.0.1") {
          problems.push(`${where}: binds ${env.FLAGS_host} on the host network, want 127.0.0.1`);
        }
        continue;
      }
      if (env.FLAGS_port !== undefined && containerPort(container, "grpc") !== Number(env.FLAGS_port)) {
        problems.push(`${where}: serves gRPC on ${env.FLAGS_port} but its "grpc" port is ${containerPort(container, "grpc")}`);
      }
      if (env.FLAGS_metrics_port !== undefined && containerPort(container, "metrics") !== Number(env.FLAGS_metrics_port)) {
        problems.push(`${where}: serves /metrics on ${env.FLAGS_metrics_port} but its "metrics" port is ${containerPort(container, "metrics")}`);
      }
      if (env.FLAGS_port !== undefined) {
        for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
          const target = probeTarget(container, container[probe]);
          if (probe !== "startupProbe" && !target) {
            problems.push(`${where}: serves gRPC but has no gRPC ${probe} (grpc, or exec \`rill-replay health\`)`);
          }
          if (!target) continue;
          const port = target.grpc !== undefined ? target.grpc : target.health;
          if (port !== Number(env.FLAGS_port)) {
            problems.push(`${where}: ${probe} checks port ${port}, the server is on ${env.FLAGS_port}`);
          }
          const tls = flagValue(container, "tls_cert") !== undefined;
          if (tls && target.grpc !== undefined) {
            problems.push(`${where}: the server speaks TLS, which the kubelet's gRPC ${probe} cannot speak (use an exec of \`rill-replay health\` with the TLS flags)`);
          }
          if (tls && target.health !== undefined && !target.tls) {
            problems.push(`${where}: ${probe} runs \`rill health\` without the TLS flags against a TLS server`);
          }
        }
      }
    }
  }

  // Flags from the environment: every FLAGS_* a container sets is one its
  // process reads (--fromenv / --tryfromenv), or it has no effect.
  // Mutual TLS: all of the run's processes or none, each with all three
  // files, each file a key of a mounted Secret.
  const tlsOf = {};  // describe(workload) -> whether its processes speak TLS
  for (const workload of workloads) {
    const spec = workload.spec.template.spec;
    for (const container of spec.containers) {
      const where = `${describe(workload)}: container ${container.name}`;
      const read = flagsFromEnv(commandLine(container));
      for (const name of Object.keys(envOf(container))) {
        if (name.startsWith("FLAGS_") && !read.has(name.slice(6))) {
          problems.push(`${where}: sets ${name}, but its process does not read it (no --fromenv=${name.slice(6)})`);
        }
      }
      const given = TLS_FLAGS.filter((flag) => flagValue(container, flag) !== undefined);
      if (given.length > 0 && given.length < TLS_FLAGS.length) {
        problems.push(`${where}: has ${given.map((f) => `--${f}`).join(", ")} but not all of --tls_cert, --tls_key, --tls_ca`);
      }
      tlsOf[describe(workload)] = given.length > 0;
      for (const flag of given) {
        const file = flagValue(container, flag);
        const mount = (container.volumeMounts || []).find((m) => file.startsWith(`${m.mountPath}/`));
        const volume = mount && (spec.volumes || []).find((v) => v.name === mount.name);
        const key = mount ? file.slice(mount.mountPath.length + 1) : null;
        const items = volume && volume.secret && volume.secret.items;
        if (!volume || !volume.secret || (items && !items.some((item) => item.path === key))) {
          problems.push(`${where}: --${flag}=${file} is not a file of a mounted Secret`);
        }
      }
    }
  }
  const tlsWorkloads = Object.keys(tlsOf).filter((w) => tlsOf[w]);
  const plainWorkloads = Object.keys(tlsOf).filter((w) => !tlsOf[w]);
  if (tlsWorkloads.length > 0 && plainWorkloads.length > 0) {
    problems.push(`${tlsWorkloads.join(", ")} speak${tlsWorkloads.length === 1 ? "s" : ""} TLS but ${plainWorkloads.join(", ")} plain text: they cannot talk to each other`);
  }

  // Every listening port once on the host network (actors spaced by
  // RILL_METRICS_PORT_STEP, one per replica).
  if (hostNetwork) {
    const owners = {};
    const claim = (port, who) => {
      if (owners[port]) problems.push(`port ${port} is bound by both ${owners[port]} and ${who}`);
      owners[port] = who;
    };
    for (const workload of workloads) {
      const replicas = workload.spec.replicas === undefined ? 1 : workload.spec.replicas;
      for (const container of workload.spec.template.spec.containers) {
        const env = envOf(container);
        const step = Number(env.RILL_METRICS_PORT_STEP || 0);
        if (replicas > 1 && step === 0 && env.FLAGS_metrics_port !== "-1") {
          problems.push(`${describe(workload)}: ${replicas} replicas on the host network share metrics port ${env.FLAGS_metrics_port}`);
        }
        for (let i = 0; i < replicas; ++i) {
          if (env.FLAGS_port !== undefined && i === 0) claim(Number(env.FLAGS_port), `${describe(workload)} gRPC`);
          if (env.FLAGS_metrics_port !== undefined && (i === 0 || step > 0)) {
            claim(Number(env.FLAGS_metrics_port) + step * i, `${describe(workload)}#${i} metrics`);
          }
        }
      }
    }
  }

  // Services select one workload and reach a port it declares. A Service
  // may select some pods of a StatefulSet only, by the labels its
  // controller gives pod i (statefulset.kubernetes.io/pod-name: <set>-<i>):
  // `ordinals` are the pods it selects (null: a Deployment's, all of them).
  const serviceFor = {};  // service name -> {workload, service, ordinals}
  for (const service of services) {
    const ordinalsOf = new Map();
    for (const workload of workloads) {
      const pods = podsOf(workload).filter((pod) => labelsMatch(service.spec.selector, pod.labels));
      if (pods.length > 0) ordinalsOf.set(workload, workload.kind === "StatefulSet" ? pods.map((p) => p.ordinal) : null);
    }
    const selected = [...ordinalsOf.keys()];
    if (selected.length !== 1) {
      const pod = (service.spec.selector || {})[POD_NAME_LABEL];
      problems.push(`${describe(service)}: selects ${selected.length} workloads, want 1` +
                    (selected.length === 0 && pod ? ` (no StatefulSet runs a pod ${pod})` : ""));
      continue;
    }
    const container = selected[0].spec.template.spec.containers[0];
    for (const port of service.spec.ports || []) {
      const target = port.targetPort === undefined ? port.port : port.targetPort;
      if (containerPort(container, target) === undefined) {
        problems.push(`${describe(service)}: port ${port.port} targets ${target}, which ${describe(selected[0])} does not declare`);
      }
    }
    serviceFor[service.metadata.name] = { workload: selected[0], service, ordinals: ordinalsOf.get(selected[0]) };
  }
  const statefulSets = workloads.filter((w) => w.kind === "StatefulSet");
  for (const set of statefulSets) {
    const governing = serviceFor[set.spec.serviceName];
    if (!governing || governing.workload !== set || governing.service.spec.clusterIP !== "None" ||
        governing.ordinals.length !== replicasOf(set)) {
      problems.push(`${describe(set)}: serviceName ${set.spec.serviceName} is not a headless Service selecting it`);
    }
  }

  // Addresses handed to the processes reach a server of the right role on
  // the port it binds, and FLAGS_replay_address lists every shard in order.
  const replay = byComponent.replay;
  const learner = byComponent.learner;
  for (const workload of workloads) {
    for (const container of workload.spec.template.spec.containers) {
      const env = envOf(container);
      const where = `${describe(workload)}: container ${container.name}`;
      if (env.FLAGS_replay_address !== undefined) {
        const addresses = env.FLAGS_replay_address.split(",").filter((a) => a).map(splitAddress);
        const shards = replay ? (replay.spec.replicas === undefined ? 1 : replay.spec.replicas) : 0;
        if (addresses.length !== shards) {
          problems.push(`${where}: FLAGS_replay_address names ${addresses.length} shards, replay runs ${shards}`);
        }
        addresses.forEach((a, i) => {
          const ok = hostNetwork ? a.host === "127.0.0.1" && a.port === grpcPortOf.replay
              : replay && replay.kind === "StatefulSet" && serviceFor[replay.spec.serviceName] &&
                a.host === `${replay.metadata.name}-${i}.${replay.spec.serviceName}` &&
                serviceFor[replay.spec.serviceName].service.spec.ports.some((p) => p.port === a.port &&
                    containerPort(replay.spec.template.spec.containers[0], p.targetPort) === grpcPortOf.replay);
          if (!ok) problems.push(`${where}: replay address ${a.host}:${a.port} (shard ${i}) does not reach replay shard ${i}`);
        });
      }
      if (env.FLAGS_learner_address !== undefined) {
        const a = splitAddress(env.FLAGS_learner_address);
        const target = serviceFor[a.host];
        const ok = hostNetwork ? a.host === "127.0.0.1" && a.port === grpcPortOf.learner
            : target && target.workload === learner && target.service.spec.ports.some((p) => p.port === a.port &&
                  containerPort(learner.spec.template.spec.containers[0], p.targetPort) === grpcPortOf.learner);
        if (!ok) problems.push(`${where}: learner address ${a.host}:${a.port} does not reach the learner's gRPC port`);
        // Only rank 0 publishes parameters (and serves central inference):
        // with more ranks, the Service selects rank 0's pod alone.
        if (ok && !hostNetwork && target.ordinals && replicasOf(learner) > 1 &&
            JSON.stringify(target.ordinals) !== "[0]") {
          problems.push(`${where}: learner address ${a.host}:${a.port}: Service ${a.host} selects rank${target.ordinals.length === 1 ? "" : "s"} ` +
                        `${target.ordinals.join(", ")} of ${describe(learner)}, want rank 0 only (select ` +
                        `${POD_NAME_LABEL}: ${learner.metadata.name}-0): the other ranks publish no parameters`);
        }
      }
    }
  }

  // The learner's data-parallel ranks (`rill learner --rank --world_size
  // --store`). A StatefulSet runs one rank per pod: its replicas are every
  // rank's world size (FLAGS_world_size, or with 0 or none the config's
  // topology.num_learners), each pod's rank is its ordinal, and rank 0's
  // store (which it opens on the port of FLAGS_store) is reached at pod 0's
  // name under the headless governing Service, which publishes it before
  // rank 0 is Ready (rank 0 is Ready only once every rank has joined, and
  // so the pods start in parallel). A Deployment runs one learner alone
  // (world size 1, rank 0): its pods have no ordinals to be ranks.
  let learnerWorldSize = 1;
  if (learner) {
    const container = learner.spec.template.spec.containers[0];
    const where = `${describe(learner)}: container ${container.name}`;
    const read = flagsFromEnv(commandLine(container));
    const replicas = replicasOf(learner);
    const worldFlag = flagValue(container, "world_size");
    const worldSize = worldFlag === undefined || Number(worldFlag) === 0 ? numLearnersOf(container, configMap)
        : Number(worldFlag);
    learnerWorldSize = worldSize;
    const says = worldFlag === undefined || Number(worldFlag) === 0
        ? `the config's topology.num_learners is ${worldSize} (FLAGS_world_size ${worldFlag === undefined ? "unset" : "0"})`
        : `FLAGS_world_size is ${worldFlag}`;
    const rank = envItem(container, "FLAGS_rank");
    if (learner.kind !== "StatefulSet") {
      if (replicas !== 1) {
        problems.push(`${where}: ${replicas} replicas of a ${learner.kind}: its pods have no ordinals to be ranks (run the ranks as a StatefulSet)`);
      }
      if (worldSize !== 1) {
        problems.push(`${where}: ${says}, but a ${learner.kind} runs one learner alone (world size 1; run the ranks as a StatefulSet)`);
      }
      if (read.has("rank") && (!rank || rank.value === undefined || Number(rank.value) !== 0)) {
        problems.push(`${where}: FLAGS_rank must be "0" in a ${learner.kind} (no ordinal to read), not ${JSON.stringify(rank && (rank.value !== undefined ? rank.value : rank.valueFrom))}`);
      }
    } else {
      if (worldSize !== replicas) {
        problems.push(`${where}: ${says}, but the StatefulSet runs ${replicas} ranks (replicas): the two must be equal`);
      }
      if (worldSize > 1 && !read.has("rank")) {
        problems.push(`${where}: ${worldSize} ranks, but the process does not read FLAGS_rank (no --fromenv=rank): every pod would be rank 0`);
      }
      if (read.has("rank") && !(rank && rank.valueFrom && rank.valueFrom.fieldRef &&
                                rank.valueFrom.fieldRef.fieldPath === POD_INDEX_FIELD)) {
        problems.push(`${where}: FLAGS_rank is not the pod's ordinal (valueFrom.fieldRef.fieldPath: ${POD_INDEX_FIELD})`);
      }
      if (replicas > 1 && learner.spec.podManagementPolicy !== "Parallel") {
        problems.push(`${describe(learner)}: podManagementPolicy ${learner.spec.podManagementPolicy || "OrderedReady"} with ${replicas} ranks: rank 0 is Ready only once every rank has joined, so pods started in order never start rank 1 (want Parallel)`);
      }
      const store = flagValue(container, "store");
      if (worldSize > 1 && store === undefined) {
        problems.push(`${where}: ${worldSize} ranks, but no FLAGS_store (rank 0's store, HOST:PORT)`);
      }
      if (store !== undefined) {
        const a = splitAddress(store);
        const governing = serviceFor[learner.spec.serviceName];
        const pod0 = `${learner.metadata.name}-0.${learner.spec.serviceName}`;
        const storePort = containerPort(container, "store");
        const ok = (a.host === pod0 || a.host.startsWith(`${pod0}.`)) && governing && governing.workload === learner &&
            storePort === a.port && governing.service.spec.ports.some((p) => p.port === a.port &&
                containerPort(container, p.targetPort === undefined ? p.port : p.targetPort) === storePort);
        if (!ok) {
          problems.push(`${where}: FLAGS_store ${store} does not reach rank 0's store (want ${pod0}:PORT, PORT the ` +
                        `learner's "store" port (${storePort === undefined ? "none declared" : storePort}) and a port of ` +
                        `Service ${learner.spec.serviceName})`);
        }
        if (replicas > 1 && governing && governing.workload === learner &&
            governing.service.spec.publishNotReadyAddresses !== true) {
          problems.push(`${describe(governing.service)}: the ranks dial rank 0 before it is Ready (it is Ready once all ` +
                        `have joined), so its name must resolve before then (want publishNotReadyAddresses: true)`);
        }
      }
    }
  }

  // The NetworkPolicy admits, to the replay, learner and inference pods,
  // their gRPC ports from the run's pods and their metrics ports.
  for (const policy of objects.filter((o) => o.kind === "NetworkPolicy")) {
    for (const workload of workloads) {
      const labels = workload.spec.template.metadata.labels;
      if (!expressionsMatch(policy.spec.podSelector, labels)) continue;
      const container = workload.spec.template.spec.containers[0];
      const admitted = (name) => (policy.spec.ingress || []).some((rule) =>
          (rule.ports || []).some((p) => p.port === containerPort(container, name) || p.port === name));
      for (const name of ["grpc", "metrics"]) {
        if (containerPort(container, name) !== undefined && !admitted(name)) {
          problems.push(`${describe(policy)}: does not admit ${describe(workload)}'s ${name} port`);
        }
      }
      // gRPC only from the run's own pods: every rule that opens it names
      // them, and nothing else.
      const grpc = containerPort(container, "grpc");
      for (const rule of policy.spec.ingress || []) {
        const opens = (rule.ports || []).length === 0 ||
            rule.ports.some((p) => p.port === grpc || p.port === "grpc");
        const ownPodsOnly = (rule.from || []).length > 0 && rule.from.every((peer) =>
            peer.podSelector && !peer.namespaceSelector && !peer.ipBlock &&
            (peer.podSelector.matchLabels || {})["app.kubernetes.io/name"] === "rill");
        if (grpc !== undefined && opens && !ownPodsOnly) {
          problems.push(`${describe(policy)}: admits ${describe(workload)}'s gRPC port from beyond the run's pods`);
        }
      }
    }
    // The learner's ranks reach each other on every port: rank 0's store,
    // then Gloo's connections between each pair on ephemeral ports.
    if (learner && learnerWorldSize > 1 && expressionsMatch(policy.spec.podSelector, learner.spec.template.metadata.labels)) {
      const labels = learner.spec.template.metadata.labels;
      const everyPort = (policy.spec.ingress || []).some((rule) => (rule.ports || []).length === 0 &&
          (rule.from || []).some((peer) => peer.podSelector && !peer.namespaceSelector && !peer.ipBlock &&
              expressionsMatch(peer.podSelector, labels)));
      if (!everyPort) {
        problems.push(`${describe(policy)}: does not admit ${describe(learner)}'s ranks to each other on every port ` +
                      `(its store, then Gloo's connections on ephemeral ports): want a rule from its pods without ports`);
      }
    }
    for (const component of ["replay", "learner", "inference"]) {
      const workload = byComponent[component];
      if (workload && !expressionsMatch(policy.spec.podSelector, workload.spec.template.metadata.labels)) {
        problems.push(`${describe(policy)}: does not select the ${component} pods`);
      }
    }
  }

  // The PodMonitor scrapes a port every selected pod declares, and selects
  // every role.
  for (const monitor of objects.filter((o) => o.kind === "PodMonitor")) {
    for (const workload of workloads) {
      if (!expressionsMatch(monitor.spec.selector, workload.spec.template.metadata.labels)) {
        problems.push(`${describe(monitor)}: does not select ${describe(workload)}`);
        continue;
      }
      for (const endpoint of monitor.spec.podMetricsEndpoints || []) {
        if (containerPort(workload.spec.template.spec.containers[0], endpoint.port) === undefined) {
          problems.push(`${describe(monitor)}: port ${endpoint.port} is not declared by ${describe(workload)}`);
        }
      }
    }
  }

  // PodDisruptionBudgets select a workload.
  for (const budget of objects.filter((o) => o.kind === "PodDisruptionBudget")) {
    if (!workloads.some((w) => expressionsMatch(budget.spec.selector, w.spec.template.metadata.labels))) {
      problems.push(`${describe(budget)}: selects no workload`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------- main

function report(results, name, problems) {
  if (problems.length === 0) {
    console.log(`PASS ${name}`);
    results.push(true);
  } else {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1, 4).join("; ")})` : "";
    console.log(`FAIL ${name}: ${problems[0]}${more}`);
    results.push(false);
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const sets = [];
  const results = [];
  for (const entry of args.overlays.concat(args.fixtures)) {
    const fixture = args.fixtures.includes(entry);
    let objects;
    try {
      objects = loadObjects(entry.file);
    } catch (error) {
      report(results, fixture ? `rejects ${entry.name}` : `parse ${entry.name}`, [error.message]);
      continue;
    }
    let expect = null;
    let reason = null;
    if (fixture) {
      const m = /^# expect: ([a-z-]+): (.+)$/m.exec(fs.readFileSync(entry.file, "utf8"));
      if (m) [expect, reason] = [m[1], m[2].trim()];
    }
    sets.push({ name: entry.name, objects, fixture, expect, reason });
  }
  const typeProblems = checkTypes(sets, args.work);
  for (const set of sets) {
    const checks = {
      "schema": () => checkSchema(set.objects),
      "types": () => typeProblems[set.name],
      "api-versions": () => checkApiVersions(set.objects),
      "consistency": () => checkConsistency(set.objects, {
        gpu: set.name === args.gpuOverlay,
        configs: set.fixture ? null : args.configs,
      }),
    };
    if (!set.fixture) {
      for (const [check, run] of Object.entries(checks)) report(results, `${check} ${set.name}`, run());
      continue;
    }
    if (!checks[set.expect]) {
      report(results, `rejects ${set.name}`,
             [`no "# expect: CHECK: TEXT" line naming one of ${Object.keys(checks).join(", ")}`]);
      continue;
    }
    const found = checks[set.expect]();
    const planted = found.find((problem) => problem.includes(set.reason));
    report(results, `rejects ${set.name}`, planted ? [] : [found.length === 0
        ? `the ${set.expect} check accepted this bad manifest`
        : `the ${set.expect} check found other problems, not "${set.reason}": ${found[0]}`]);
    if (planted) console.log(`  ${set.expect} said: ${planted}`);
  }
  process.exit(results.every((ok) => ok) ? 0 : 1);
}

main();
