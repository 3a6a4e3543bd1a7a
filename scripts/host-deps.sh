#!/usr/bin/env bash
# Install the Debian packages the controller needs for the lab, only if missing.
set -euo pipefail
declare -A need=(
    [systemd-nspawn]=systemd-container
    [debootstrap]=debootstrap
    [dpkg-scanpackages]=dpkg-dev
    [apt-ftparchive]=apt-utils
    [ip]=iproute2
    [ssh]=openssh-client
    [ssh-keygen]=openssh-client
    [gcc]=gcc
    [gpg]=gpg
    [gpgconf]=gpgconf
    [dpkg-deb]=dpkg
)
missing=()
for cmd in "${!need[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "host-deps: need root to install: ${missing[*]}" >&2
    exit 1
fi
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "host-deps: installing ${pkgs[*]}"
# Some configured third-party sources may be unreachable; the Debian ones suffice.
apt-get update -q >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
