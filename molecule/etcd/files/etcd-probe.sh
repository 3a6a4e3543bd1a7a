#!/bin/sh
# Steady client load for the etcd scenario: every 0.2 s write a fresh value
# through the cluster (all members' endpoints, as flanneld would use them) and
# read it back, until /run/etcd-probe.stop appears (or 20 minutes pass). Every
# failed or wrong round is logged; the counts go to /run/etcd-probe.json.
set -u
set -a
. /etc/etcd/etcdctl.env
set +a
rm -f /run/etcd-probe.stop /run/etcd-probe.json /run/etcd-probe.log
ok=0
fail=0
i=0
end=$(( $(date +%s) + 1200 ))
while [ ! -e /run/etcd-probe.stop ] && [ "$(date +%s)" -lt "$end" ]; do
  i=$((i + 1))
  value="round-$i-$(date +%s%N)"
  if etcdctl --command-timeout=5s put /molecule/probe "$value" >/dev/null 2>>/run/etcd-probe.log &&
     got=$(etcdctl --command-timeout=5s get /molecule/probe --print-value-only 2>>/run/etcd-probe.log) &&
     [ "$got" = "$value" ]; then
    ok=$((ok + 1))
  else
    fail=$((fail + 1))
    echo "$(date '+%T.%N') round $i failed (read: ${got:-nothing})" >>/run/etcd-probe.log
  fi
  got=""
  sleep 0.2
done
printf '{"ok": %d, "fail": %d}\n' "$ok" "$fail" >/run/etcd-probe.json.tmp
mv /run/etcd-probe.json.tmp /run/etcd-probe.json
