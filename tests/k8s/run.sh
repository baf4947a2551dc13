#!/usr/bin/env bash
# The Kubernetes checks of CI (issue 13), everything that can be tested
# without a cluster, for real:
#   1. every overlay of deploy/k8s renders with `kubectl kustomize`;
#   2. every rendered object validates against the Kubernetes schemas and
#      type-checks as its I<Kind> interface, uses an allowed apiVersion, and
#      agrees with the others on image, ports and addresses
#      (check_manifests.cjs, with the npm packages pinned in package-lock.json
#      installed by `npm ci` into a temporary folder); the planted bad
#      manifests of fixtures/ must each be rejected;
#   3. the image builds with podman (tools/image.sh) on a Debian bookworm
#      base made by debootstrap, runs `rill --help`, a replay shard inside
#      it answers grpc.health.v1 with SERVING, and the Python env server
#      inside it (overlays/python-env's sidecar) serves CartPole;
#   4. `podman kube play` of overlays/ci runs replay, learner, evaluator and
#      2 actors from that image; their /metrics show env steps and learner
#      updates growing; `podman kube down` ends them.
# Prints one line per check, `PASS <name>` or `FAIL <name>: <why>` (other
# lines are details), and exits non-zero if any failed. Removes everything it
# started (containers, pods, volumes, the image it built, temporary files),
# on failure and on Ctrl-C too. The one thing it keeps is the imported base
# image (under the Dockerfile's FROM name, labelled rill.base.packages): a
# later run reuses it when the Dockerfile's runtime package list is
# unchanged, which saves the debootstrap (about 2.5 of the 3 minutes a first
# run takes; a run that reuses it takes about 30 s).
#
# Needs root (podman and debootstrap), and tools/setup.sh's packages (podman,
# runc, catatonit, debootstrap, python3-grpcio, nodejs/npm, kubectl). Run it
# from anywhere: bash tests/k8s/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

readonly OVERLAYS=(cpu gpu ci tls central-inference python-env learner-ranks)
# Where overlays/ci's processes listen on the host (see its kustomization).
readonly CI_PORTS=(47051 47091 47052 47092 47099 47100 47101)
readonly REPLAY_METRICS=47091 LEARNER_METRICS=47092 ACTOR_METRICS=(47100 47101)
# How long the podman run may take to show growing metrics (it takes ~10 s).
readonly PLAY_DEADLINE_S=${RILL_K8S_PLAY_DEADLINE_S:-300}

failures=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }
now() { date +%s; }
started=$(now)

work="$(mktemp -d "${TMPDIR:-/tmp}/rill-k8s.XXXXXX")"
image=""            # the image this run built, removed at the end
images_before=""    # image ids present before this run
images_recorded=""
health_container=""
played=""           # the manifest `podman kube play` ran
volumes=()          # podman volumes the play created (ConfigMaps, claims)

cleanup() {
  if command -v podman >/dev/null; then
    [ -n "$health_container" ] && podman rm -f -t 5 "$health_container" >/dev/null 2>&1
    [ -n "$played" ] && podman kube down "$played" >/dev/null 2>&1
    for volume in "${volumes[@]}"; do podman volume rm -f "$volume" >/dev/null 2>&1; done
    [ -n "$image" ] && podman rmi -f "$image" >/dev/null 2>&1
    # podman builds its pod infra image on first use: remove it if this run
    # made it.
    if [ -n "$images_recorded" ]; then
      for id in $(podman images -q --filter reference='localhost/podman-pause' 2>/dev/null); do
        grep -qx "$id" <<<"$images_before" || podman rmi -f "$id" >/dev/null 2>&1
      done
    fi
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in kubectl node npm; do
  command -v "$tool" >/dev/null || fail "tools" "$tool not found: this machine kind ships it (kubectl with kustomize, Node.js with npm)"
done

# ------------------------------------------------------------ 1. render
rendered=()
for overlay in "${OVERLAYS[@]}"; do
  if out=$(kubectl kustomize "deploy/k8s/overlays/$overlay" 2>&1 >"$work/$overlay.yaml"); then
    pass "render $overlay"
    rendered+=(--overlay "$overlay=$work/$overlay.yaml")
  else
    fail "render $overlay" "$(tail -n 1 <<<"$out")"
  fi
done

# ------------------------------------------------------------ 2. validate
t=$(now)
cp tests/k8s/package.json tests/k8s/package-lock.json "$work/"
if out=$(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --cache "$work/npm-cache" 2>&1); then
  pass "npm-ci"
  fixtures=()
  for fixture in tests/k8s/fixtures/*.yaml; do fixtures+=(--fixture "$(basename "$fixture" .yaml)=$fixture"); done
  # check_manifests.cjs prints its own PASS / FAIL lines.
  output=$(NODE_PATH="$work/node_modules" node tests/k8s/check_manifests.cjs --work "$work" \
             --configs deploy/configs --gpu-overlay gpu "${rendered[@]}" "${fixtures[@]}" 2>&1)
  echo "$output"
  failures=$((failures + $(grep -c '^FAIL ' <<<"$output")))
  if ! grep -q '^\(PASS\|FAIL\) ' <<<"$output"; then fail "check-manifests" "no result: $(tail -n 1 <<<"$output")"; fi
else
  fail "npm-ci" "$(tail -n 1 <<<"$out")"
fi
echo "  manifests checked in $(($(now) - t)) s"

# ------------------------------------------------------------ 3. image
ci_image=$(awk '$1 == "image:" {print $2; exit}' "$work/ci.yaml" 2>/dev/null)
base=$(sed -n 's/^ARG BASE_IMAGE=//p' deploy/docker/Dockerfile)
packages=$(sed -n 's/^ARG RUNTIME_PACKAGES="\(.*\)"$/\1/p' deploy/docker/Dockerfile)
packages_id=$(tr ' ' '\n' <<<"$packages" | sort | sha256sum | cut -c1-16)

image_ok=""
if [ "$(id -u)" -ne 0 ]; then
  fail "base-image" "needs root (rootful podman, debootstrap)"
elif ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
  fail "base-image" "podman or debootstrap missing: run tools/setup.sh"
elif [ -z "$ci_image" ] || [ -z "$base" ] || [ -z "$packages" ]; then
  fail "base-image" "cannot read the image name from overlays/ci or BASE_IMAGE / RUNTIME_PACKAGES from the Dockerfile"
else
  # Debian's podman prefers crun; tools/setup.sh installs runc, which works
  # here. Rootful podman's default rlimits are above what this machine
  # grants (runc then fails to start any container), so name them.
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
  cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=16384:16384"]
[engine]
runtime = "runc"
EOF
  export CONTAINERS_CONF="$work/containers.conf"
  images_before=$(podman images -q 2>/dev/null) && images_recorded=1

  t=$(now)
  if [ "$(podman image inspect --format '{{index .Labels "rill.base.packages"}}' "$base" 2>/dev/null)" = "$packages_id" ]; then
    pass "base-image (reused $base)"
    base_ok=1
  else
    # The bookworm mirror apt already uses on this machine (its lists name
    # it; they may have been cleaned since tools/setup.sh ran).
    bookworm_mirror() { apt-cache policy 2>/dev/null | awk '$3 == "bookworm/main" {print $2; exit}'; }
    mirror=$(bookworm_mirror)
    [ -n "$mirror" ] || { apt-get update -qq >/dev/null 2>&1; mirror=$(bookworm_mirror); }
    rootfs="$work/rootfs"
    if [ -z "$mirror" ]; then
      fail "base-image" "no bookworm/main source in apt's lists (run apt-get update)"
    elif ! out=$(debootstrap --variant=minbase --include="${packages// /,}" bookworm "$rootfs" "$mirror" 2>&1); then
      fail "base-image" "debootstrap: $(grep -E '^(E|W):' <<<"$out" | tail -n 1)"
    else
      rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
      if out=$(tar --numeric-owner -C "$rootfs" -c . |
               podman import --change "LABEL rill.base.packages=$packages_id" - "$base" 2>&1); then
        pass "base-image (debootstrapped bookworm as $base in $(($(now) - t)) s)"
        base_ok=1
      else
        fail "base-image" "podman import: $(tail -n 1 <<<"$out")"
      fi
    fi
    rm -rf "$rootfs"
  fi

  if [ -n "${base_ok:-}" ]; then
    t=$(now)
    if out=$(tools/image.sh --engine podman --tag "$ci_image" 2>&1); then
      image="$ci_image"
      image_ok=1
      pass "image-build ($image in $(($(now) - t)) s)"
    else
      fail "image-build" "$(tail -n 3 <<<"$out" | tr '\n' ' ')"
    fi
  fi
fi

if [ -n "$image_ok" ]; then
  # One image for every role: non-root, rill as entrypoint, rill-replay and
  # rill-actor beside it, no compiler.
  user=$(podman image inspect --format '{{.Config.User}}' "$image")
  entrypoint=$(podman image inspect --format '{{join .Config.Entrypoint " "}}' "$image")
  layout=$(podman run --rm --network=host --entrypoint /bin/sh "$image" -c \
             'command -v rill; command -v rill-replay; command -v rill-actor; for c in cc gcc g++ c++ clang make; do command -v $c; done; id -u' 2>&1)
  if [ "$entrypoint" != rill ]; then
    fail "image-contents" "entrypoint is '$entrypoint', want rill"
  elif [ "${user%%:*}" = 0 ] || [ -z "$user" ] || [ "$(tail -n 1 <<<"$layout")" = 0 ]; then
    fail "image-contents" "runs as root (USER '$user')"
  elif [ "$(head -n 3 <<<"$layout" | tr '\n' ' ')" != "/usr/local/bin/rill /usr/local/bin/rill-replay /usr/local/bin/rill-actor " ]; then
    fail "image-contents" "rill, rill-replay and rill-actor are not side by side in /usr/local/bin: $(head -n 3 <<<"$layout" | tr '\n' ' ')"
  elif [ "$(wc -l <<<"$layout")" -ne 4 ]; then
    fail "image-contents" "has build tools: $(sed -n '4,$p' <<<"$layout" | sed '$d' | tr '\n' ' ')"
  else
    pass "image-contents (user $user, entrypoint rill, rill-replay and rill-actor beside it, no compiler)"
  fi

  # `rill --help` prints the usage on stdout (exit 0).
  help=$(podman run --rm --network=host "$image" --help 2>&1)
  roles=0
  for role in launch replay learner actor; do grep -qE "^  $role " <<<"$help" && roles=$((roles + 1)); done
  if grep -q '^usage: rill <command>' <<<"$help" && [ "$roles" -eq 4 ]; then
    pass "image-help (usage lists launch, replay, learner, actor)"
  else
    fail "image-help" "unexpected output: $(head -n 2 <<<"$help" | tr '\n' ' ')"
  fi

  # A replay shard in the image as the base runs it (the config baked into
  # the image, write-ahead log, read-only root, its folder a scratch mount):
  # SERVING on grpc.health.v1, then on SIGTERM a final checkpoint and exit 0.
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  health_container="rill-k8s-health-$$"
  if ! out=$(podman run -d --name "$health_container" --network=host --read-only \
               --tmpfs /var/lib/rill/replay:rw,mode=1777 "$image" replay \
               --config=deploy/configs/pendulum_sac_sharded.textpb --checkpoint_dir=/var/lib/rill/replay \
               --host=127.0.0.1 --port="$port" --metrics_port=-1 2>&1); then
    fail "image-replay-health" "podman run: $(tail -n 1 <<<"$out")"
  elif ! answer=$(/usr/bin/python3 tests/k8s/grpc_health.py "127.0.0.1:$port" --timeout 30 2>&1); then
    fail "image-replay-health" "$answer; shard log: $(podman logs "$health_container" 2>&1 | tail -n 2 | tr '\n' ' ')"
  else
    podman stop -t 30 "$health_container" >/dev/null 2>&1
    code=$(podman inspect --format '{{.State.ExitCode}}' "$health_container")
    log=$(podman logs "$health_container" 2>&1)
    if [ "$code" != 0 ]; then
      fail "image-replay-health" "$answer, but the shard exited $code on SIGTERM"
    elif ! grep -q "final checkpoint '/var/lib/rill/replay/" <<<"$log"; then
      fail "image-replay-health" "$answer, but no final checkpoint on SIGTERM: $(tail -n 2 <<<"$log" | tr '\n' ' ')"
    else
      pass "image-replay-health ($answer; on SIGTERM a final checkpoint and exit 0)"
    fi
  fi
  podman rm -f "$health_container" >/dev/null 2>&1
  health_container=""

  # The Python env server in the image as overlays/python-env's sidecar
  # runs it (read-only root, the message classes the image was built with):
  # it listens, and `rill envs --remote` from the image reads CartPole's
  # spaces from it.
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  health_container="rill-k8s-env-server-$$"
  if ! out=$(podman run -d --name "$health_container" --network=host --read-only --tmpfs /tmp:rw,mode=1777 \
               -e PYTHONPATH=/var/lib/rill/python:/var/lib/rill/examples/python --entrypoint /usr/bin/python3 \
               "$image" -m rill.env_server --factory=cartpole:make --address="127.0.0.1:$port" 2>&1); then
    fail "image-env-server" "podman run: $(tail -n 1 <<<"$out")"
  else
    deadline=$(($(now) + 30))
    # Anywhere in a line: podman's log can join the server's stdout line to
    # a stderr line written at the same moment (a full run once found no
    # such line from a server that then answered rill envs --remote).
    listening="listening on 127\.0\.0\.1:$port([^0-9]|\$)"
    until podman logs "$health_container" 2>&1 | grep -Eq "$listening" || [ "$(now)" -ge "$deadline" ] ||
          [ "$(podman inspect --format '{{.State.Running}}' "$health_container" 2>/dev/null)" != true ]; do
      sleep 0.2  # the next look at the log: nothing notifies a line written
    done
    spaces=$(podman run --rm --network=host "$image" envs --remote="127.0.0.1:$port" 2>&1)
    if ! podman logs "$health_container" 2>&1 | grep -Eq "$listening"; then
      fail "image-env-server" "no \"listening on\" line within 30 s: $(podman logs "$health_container" 2>&1 | tail -n 2 | tr '\n' ' ')"
    elif ! grep -q "discrete" <<<"$spaces" || ! grep -q "shape: 4" <<<"$spaces"; then
      fail "image-env-server" "rill envs --remote: $(tail -n 2 <<<"$spaces" | tr '\n' ' ')"
    else
      pass "image-env-server (python3 -m rill.env_server on a read-only root; rill envs --remote reads CartPole's spaces)"
    fi
  fi
  podman rm -f -t 5 "$health_container" >/dev/null 2>&1
  health_container=""
else
  for check in image-contents image-help image-replay-health image-env-server; do fail "$check" "no image"; done
fi

# ------------------------------------------------------------ 4. kube play

# The sum of a metric's samples on a local /metrics port; prints nothing
# when the port does not answer or has no such metric.
metric() {
  curl -sf --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null |
    awk -v name="$2" '$1 == name || index($1, name "{") == 1 {sum += $2; found = 1}
                      END {if (found) printf "%d\n", sum}'
}

show_logs() {
  for container in $(podman ps -a --format '{{.Names}}' | grep -E '^rill-.*-pod-[0-9]+-'); do
    echo "  --- $container"
    podman logs "$container" 2>&1 | tail -n 3 | sed 's/^/  /'
  done
}

if [ -n "$image_ok" ] && [ -s "$work/ci.yaml" ]; then
  busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | sed 's/.*://' | grep -xF -f <(printf '%s\n' "${CI_PORTS[@]}") | sort -u | paste -sd ' ')
  mapfile -t volumes < <(awk '/^kind: (ConfigMap|PersistentVolumeClaim)$/ {want = 1} want && /^  name: / {print $2; want = 0}' "$work/ci.yaml")
  t=$(now)
  if [ -n "$busy" ]; then
    fail "kube-play" "ports $busy are already in use on this machine"
  elif ! out=$(podman kube play "$work/ci.yaml" 2>&1); then
    played="$work/ci.yaml"
    fail "kube-play" "$(grep -i error <<<"$out" | tail -n 1)"
  else
    played="$work/ci.yaml"
    pods=$(podman pod ps --format '{{.Name}}' | grep -cE '^rill-(replay|learner|evaluator|actors)-pod-[0-9]+$')
    pass "kube-play ($pods pods from overlays/ci)"

    # Wait, with a deadline, until every actor's env steps and the learner's
    # updates have grown past their first readings.
    deadline=$(($(now) + PLAY_DEADLINE_S))
    first=()
    grown=""
    while [ "$(now)" -lt "$deadline" ]; do
      # actor 0 and actor 1 env steps, learner updates, replay items.
      reading=()
      for port in "${ACTOR_METRICS[@]}"; do reading+=("$(metric "$port" rill_actor_env_steps_total)"); done
      reading+=("$(metric "$LEARNER_METRICS" rill_learner_updates_total)")
      reading+=("$(metric "$REPLAY_METRICS" rill_replay_items_inserted_total)")
      complete=1
      for value in "${reading[@]}"; do [[ "$value" =~ ^[0-9]+$ ]] || complete=""; done
      if [ -n "$complete" ]; then
        if [ "${#first[@]}" -eq 0 ]; then
          first=("${reading[@]}")
        elif [ "${reading[0]}" -gt "${first[0]}" ] && [ "${reading[1]}" -gt "${first[1]}" ] &&
             [ "${reading[2]}" -gt "${first[2]}" ] && [ "${reading[2]}" -gt 0 ] && [ "${reading[3]}" -gt 0 ]; then
          grown=1
          break
        fi
      fi
      sleep 1  # the next scrape: each condition above is re-read, none assumed
    done
    if [ -n "$grown" ]; then
      pass "kube-play-metrics (after $(($(now) - t)) s: actor 0 ${reading[0]} env steps, actor 1 ${reading[1]}, learner ${reading[2]} updates, replay ${reading[3]} items)"
    else
      fail "kube-play-metrics" "no growth within $PLAY_DEADLINE_S s (actors ${reading[0]:-?} ${reading[1]:-?} env steps, learner ${reading[2]:-?} updates, replay ${reading[3]:-?} items; first reading ${first[*]:-none})"
      show_logs
    fi

    restarts=$(podman ps -a --format '{{.Names}}' | grep -E '^rill-.*-pod-[0-9]+-' | while read -r c; do
                 n=$(podman inspect --format '{{.RestartCount}}' "$c"); [ "$n" -gt 0 ] && echo "$c restarted $n times"; done)
    if [ -z "$restarts" ]; then pass "kube-play-no-restarts"; else fail "kube-play-no-restarts" "$(tr '\n' ';' <<<"$restarts")"; fi
  fi

  if [ -n "$played" ]; then
    out=$(podman kube down "$played" 2>&1)
    rc=$?
    for volume in "${volumes[@]}"; do podman volume rm -f "$volume" >/dev/null 2>&1; done
    left=$(podman pod ps --format '{{.Name}}' | grep -xE 'rill-(replay|learner|evaluator|actors)-pod-[0-9]+' | tr '\n' ' ')
    for volume in "${volumes[@]}"; do podman volume exists "$volume" && left+="volume $volume "; done
    if [ "$rc" -eq 0 ] && [ -z "$left" ]; then
      pass "kube-down"
      played=""
      volumes=()
    else
      fail "kube-down" "rc $rc, left: ${left:-nothing} $(tail -n 1 <<<"$out")"
    fi
  fi
else
  for check in kube-play kube-play-metrics kube-play-no-restarts kube-down; do fail "$check" "no image or no overlays/ci render"; done
fi

echo "  tests/k8s/run.sh took $(($(now) - started)) s"
[ "$failures" -eq 0 ]
