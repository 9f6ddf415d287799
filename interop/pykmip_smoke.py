"""DiscoverVersions and Query from PyKMIP's own client against a running lkm.

Usage: pykmip_smoke.py HOST PORT CLIENT_CERT CLIENT_KEY CA_CERT
Checks, for KMIP 1.2, 1.4 and 2.0 requests, that the server answers in the
request's version with every version it speaks (newest first), that an
offered subset is honoured, and that Query lists its operations and
identifies the vendor. Prints one line per check and a closing count.
"""
import sys
import tempfile

from kmip.core import enums
from kmip.core.messages.contents import ProtocolVersion
from kmip.services.kmip_client import KMIPProxy

from checks import Checks

host, port, cert, key, ca = sys.argv[1:6]
EXPECTED = [(2, 1), (2, 0), (1, 4), (1, 3), (1, 2), (1, 1), (1, 0)]
check = Checks("pykmip-smoke")


# An empty config file keeps PyKMIP from reading ~/.pykmip or /etc/pykmip.
with tempfile.NamedTemporaryFile("w", suffix=".conf") as conf:
    conf.write("[client]\n")
    conf.flush()
    for version in (enums.KMIPVersion.KMIP_1_2, enums.KMIPVersion.KMIP_1_4, enums.KMIPVersion.KMIP_2_0):
        client = KMIPProxy(host=host, port=int(port), certfile=cert, keyfile=key, ca_certs=ca,
                           cert_reqs="CERT_REQUIRED", ssl_version="PROTOCOL_SSLv23",
                           config_file=conf.name, kmip_version=version)
        client.open()
        try:
            r = client.discover_versions()
            got = [(v.major, v.minor) for v in (r.protocol_versions or [])]
            check(f"{version.name} DiscoverVersions", r.result_status.value == enums.ResultStatus.SUCCESS
                  and got == EXPECTED, f"{r.result_status} {got}")
            r = client.discover_versions(protocol_versions=[ProtocolVersion(1, 0), ProtocolVersion(1, 4)])
            got = [(v.major, v.minor) for v in (r.protocol_versions or [])]
            check(f"{version.name} DiscoverVersions offered subset", got == [(1, 4), (1, 0)], str(got))
            r = client.query(query_functions=[enums.QueryFunction.QUERY_OPERATIONS,
                                              enums.QueryFunction.QUERY_OBJECTS,
                                              enums.QueryFunction.QUERY_SERVER_INFORMATION])
            ops = [o for o in (r.operations or [])]
            check(f"{version.name} Query", r.result_status.value == enums.ResultStatus.SUCCESS
                  and enums.Operation.QUERY in ops and enums.Operation.DISCOVER_VERSIONS in ops
                  and str(r.vendor_identification).startswith("lkm"),
                  f"{r.result_status} {ops} {r.vendor_identification}")
        finally:
            client.close()

check.finish()
