"""The flannel-ansible test lab (systemd-nspawn hosts on a bridge)."""
