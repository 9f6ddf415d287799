"""PyKMIP's client against the three nodes of a running dev cluster.

Usage: pykmip_cluster.py CLIENT_CERT CLIENT_KEY CA_CERT PORT1 PORT2 PORT3

Each node creates a key (AES-256) and registers a secret; every object made
on one node is then fetched on all three, and the bytes must match (the
hypervisors that share a key across hosts rely on it). A key destroyed on
one node must be gone, as such, on the other two. Prints one line per
check and a closing count.
"""
import os
import sys
import tempfile

from kmip.core import enums
from kmip.pie import client as pie_client
from kmip.pie import objects

from checks import Checks

cert, key, ca = sys.argv[1:4]
ports = [int(p) for p in sys.argv[4:7]]
check = Checks("pykmip-cluster")

conf = tempfile.NamedTemporaryFile("w", suffix=".conf")
conf.write("[client]\n")
conf.flush()


def client(port):
    return pie_client.ProxyKmipClient(
        hostname="127.0.0.1", port=port, cert=cert, key=key, ca=ca,
        ssl_version="PROTOCOL_SSLv23", config_file=conf.name,
        kmip_version=enums.KMIPVersion.KMIP_1_2)


clients = [client(p) for p in ports]
for c in clients:
    c.open()
try:
    made = []  # (node, uid, expected bytes or None when the server chose them)
    for n, c in enumerate(clients, 1):
        uid = c.create(enums.CryptographicAlgorithm.AES, 256, name=f"cluster-key-{n}")
        made.append((n, uid, None))
        secret = os.urandom(32)
        uid = c.register(objects.SecretData(secret, enums.SecretDataType.PASSWORD,
                                            name=f"cluster-secret-{n}"))
        made.append((n, uid, secret))
    for n, uid, expected in made:
        seen = []
        for m, c in enumerate(clients, 1):
            try:
                seen.append(c.get(uid).value)
            except Exception as e:  # noqa: BLE001 - reported as the check's detail
                seen.append(f"error: {e}")
        same = all(isinstance(v, bytes) for v in seen) and len(set(seen)) == 1
        if expected is not None:
            same = same and seen[0] == expected
        check(f"object {uid} made on node {n}: same bytes on nodes 1, 2, 3", same,
              str([v if isinstance(v, str) else len(v) for v in seen]))
    # Destroyed on node 3, gone on nodes 1 and 2.
    _, uid, _ = made[0]
    clients[2].destroy(uid)
    for m in (1, 2):
        try:
            clients[m - 1].get(uid)
            check(f"key {uid} destroyed on node 3 is not served by node {m}", False, "Get succeeded")
        except Exception as e:  # noqa: BLE001 - the refusal is what is checked
            check(f"key {uid} destroyed on node 3 is not served by node {m}",
                  "was destroyed" in str(e), str(e))
finally:
    for c in clients:
        c.close()
check.finish()
