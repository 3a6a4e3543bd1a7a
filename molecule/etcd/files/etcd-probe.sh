#!/bin/sh
# Steady client load for the etcd scenario: every 0.2 s write a fresh value
# through the cluster (all members' endpoints, as flanneld would use them) and
# read it back, until /run/etcd-probe.stop appears (or 20 minutes pass). A round
# that fails is tried once more at once, as a client with several endpoints
# would: a member that is shutting down can answer one call with "malformed
# header: missing HTTP content-type", which etcdctl does not retry itself. A
# round counts as retried when the second try worked and as failed when it did
# not. Every failed try is logged; the counts go to /run/etcd-probe.json.
set -u
set -a
. /etc/etcd/etcdctl.env
set +a
rm -f /run/etcd-probe.stop /run/etcd-probe.json /run/etcd-probe.log
ok=0
retried=0
fail=0
i=0
end=$(( $(date +%s) + 1200 ))
# One try: write a fresh value and read it back.
try_round() {
  value="round-$i-$1-$(date +%s%N)"
  got=""
  etcdctl --command-timeout=5s put /molecule/probe "$value" >/dev/null 2>>/run/etcd-probe.log &&
    got=$(etcdctl --command-timeout=5s get /molecule/probe --print-value-only 2>>/run/etcd-probe.log) &&
    [ "$got" = "$value" ] && return 0
  echo "$(date '+%T.%N') round $i try $1 failed (read: ${got:-nothing})" >>/run/etcd-probe.log
  return 1
}
while [ ! -e /run/etcd-probe.stop ] && [ "$(date +%s)" -lt "$end" ]; do
  i=$((i + 1))
  if try_round 1; then
    ok=$((ok + 1))
  elif try_round 2; then
    retried=$((retried + 1))
  else
    fail=$((fail + 1))
  fi
  sleep 0.2
done
printf '{"ok": %d, "retried": %d, "fail": %d}\n' "$ok" "$retried" "$fail" >/run/etcd-probe.json.tmp
mv /run/etcd-probe.json.tmp /run/etcd-probe.json
