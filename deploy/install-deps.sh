#!/usr/bin/env bash
# Installs every build and test dependency of Muhafiz from Debian 12 packages.
# Idempotent: packages already present are left alone. Run as root.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config ninja-build python3
  # dataplane and rules
  dpdk-dev libdpdk-dev libhyperscan-dev libpcap-dev libssl-dev libsodium-dev libidn2-dev
  # control and alerting
  libmaxminddb-dev mmdb-bin libzmq3-dev cppzmq-dev libyaml-cpp-dev prometheus-cpp-dev libsqlite3-dev
  # command lines and formats
  nlohmann-json3-dev libcli11-dev
  # tests and benchmarks (tshark cross-checks the generated captures; ndpiReader is the
  # peer the benchmarks compare against; hyperfine times them side by side)
  libgtest-dev libgmock-dev libbenchmark-dev tshark libndpi-bin hyperfine
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
