"""Unit tests of lab/net.py: which sockets of /proc/net/tcp are ssh to a lab host."""

import ipaddress

from lab import net

# /proc/net/tcp: addresses are little-endian hex. 0B004D0A = 10.77.0.11, 0100007F = 127.0.0.1.
PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100004D:A1B2 0B004D0A:0016 01 00000000:00000000 00:00000000 00000000     0        0 4242 1
   1: 0100004D:A1B3 0C004D0A:1F99 01 00000000:00000000 00:00000000 00000000     0        0 4343 1
   2: 0100007F:A1B4 0100007F:0016 01 00000000:00000000 00:00000000 00000000     0        0 4444 1
   3: 0100004D:A1B5 0D004D0A:0016 01 00000000:00000000 00:00000000 00000000     0        0 4545 1
   4: garbage
"""


def test_ssh_sockets_are_port_22_of_a_lab_address():
    cidr = ipaddress.IPv4Network("10.77.0.0/24")
    assert net.ssh_sockets(PROC_NET_TCP, cidr) == {"socket:[4242]", "socket:[4545]"}
    assert net.ssh_sockets(PROC_NET_TCP, ipaddress.IPv4Network("10.99.0.0/24")) == set()
