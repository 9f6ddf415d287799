"""The two flows lkm is built for, driven by PyKMIP's own clients.

Usage: pykmip_flows.py HOST PORT CLIENT_CERT CLIENT_KEY CA_CERT

* A storage array with self-encrypting drives (low-level KMIPProxy, KMIP
  1.2): register a drive's authentication key as Secret Data (Password)
  with a name, an object group and 12 custom attributes of 128
  characters; locate it by group, read a custom attribute back, fetch the
  key byte for byte, destroy it when the drive retires.
* A hypervisor (ProxyKmipClient, KMIP 1.1): create an AES-256 key, read its
  state, activate it, fetch it, locate it by name.
Prints one line per check and a closing count.
"""
import sys
import tempfile

from kmip.core import enums, objects, attributes, secrets
from kmip.core.factories import attributes as attribute_factories
from kmip.pie import client as pie_client
from kmip.services.kmip_client import KMIPProxy

from checks import Checks

host, port, cert, key, ca = sys.argv[1:6]
check = Checks("pykmip-flows")


conf = tempfile.NamedTemporaryFile("w", suffix=".conf")
conf.write("[client]\n")
conf.flush()
common = dict(host=host, port=int(port), certfile=cert, keyfile=key, ca_certs=ca,
              cert_reqs="CERT_REQUIRED", ssl_version="PROTOCOL_SSLv23", config_file=conf.name)

# --- storage array, KMIP 1.2, low-level client -----------------------------
factory = attribute_factories.AttributeFactory()
proxy = KMIPProxy(kmip_version=enums.KMIPVersion.KMIP_1_2, **common)
proxy.open()
try:
    auth_key = bytes(range(32))
    custom = [(f"x-Drive{i:02d}", (f"{i:02d}" + "0123456789abcdef" * 8)[:128]) for i in range(1, 13)]

    def custom_attribute(name, value):
        return objects.Attribute(attribute_name=objects.Attribute.AttributeName(name),
                                 attribute_value=attributes.CustomAttribute(value))

    template = objects.TemplateAttribute(attributes=[
        factory.create_attribute(enums.AttributeType.NAME,
                                 attributes.Name.create("array-9-bay-4", enums.NameType.UNINTERPRETED_TEXT_STRING)),
        factory.create_attribute(enums.AttributeType.OBJECT_GROUP, "array-9"),
    ] + [custom_attribute(n, v) for n, v in custom])
    secret = secrets.SecretData(
        secret_data_type=secrets.SecretData.SecretDataType(enums.SecretDataType.PASSWORD),
        key_block=objects.KeyBlock(
            key_format_type=objects.KeyFormatType(enums.KeyFormatType.OPAQUE),
            key_value=objects.KeyValue(objects.KeyMaterial(auth_key))))
    r = proxy.register(enums.ObjectType.SECRET_DATA, template, secret)
    ok = r.result_status.value == enums.ResultStatus.SUCCESS
    check("array: register a drive key with 12 custom attributes of 128 chars", ok,
          f"{r.result_status} {getattr(r, 'result_message', '')}")
    uid = r.uuid if ok else None

    r = proxy.locate(attributes=[factory.create_attribute(enums.AttributeType.OBJECT_GROUP, "array-9")])
    check("array: locate by object group", r.result_status.value == enums.ResultStatus.SUCCESS and r.uuids == [uid],
          f"{r.result_status} {r.uuids}")

    r = proxy.get_attributes(uuid=uid, attribute_names=["x-Drive07"])
    got = [(a.attribute_name.value, str(a.attribute_value.value)) for a in (r.attributes or [])]
    check("array: read a custom attribute back", got == [custom[6]], str(got))

    r = proxy.get(uuid=uid)
    value = None
    if r.result_status.value == enums.ResultStatus.SUCCESS:
        value = r.secret.key_block.key_value.key_material.value
    check("array: the drive key comes back byte for byte", value == auth_key, repr(value))

    r = proxy.destroy(uid)
    check("array: destroy the retired drive's key", r.result_status.value == enums.ResultStatus.SUCCESS,
          str(r.result_status))
    r = proxy.get(uuid=uid)
    check("array: a destroyed key is not served",
          r.result_status.value == enums.ResultStatus.OPERATION_FAILED
          and r.result_reason.value == enums.ResultReason.ITEM_NOT_FOUND, f"{r.result_status} {r.result_reason}")
finally:
    proxy.close()

# --- hypervisor, KMIP 1.1, high-level client --------------------------------
with pie_client.ProxyKmipClient(kmip_version=enums.KMIPVersion.KMIP_1_1,
                                hostname=host, port=int(port), cert=cert, key=key, ca=ca,
                                config_file=conf.name) as c:
    uid = c.create(enums.CryptographicAlgorithm.AES, 256, name="vm-1138-disk-0",
                   cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                             enums.CryptographicUsageMask.DECRYPT])
    check("hypervisor: create AES-256", bool(uid))
    _, attrs = c.get_attributes(uid, ["State"])
    check("hypervisor: new key is Pre-Active",
          [a.attribute_value.value for a in attrs] == [enums.State.PRE_ACTIVE], str(attrs))
    c.activate(uid)
    _, attrs = c.get_attributes(uid, ["State"])
    check("hypervisor: activated", [a.attribute_value.value for a in attrs] == [enums.State.ACTIVE], str(attrs))
    k1 = c.get(uid)
    k2 = c.get(uid)
    check("hypervisor: the same 256-bit key every time", len(k1.value) == 32 and k1.value == k2.value)
    found = c.locate(attributes=[factory.create_attribute(
        enums.AttributeType.NAME, attributes.Name.create("vm-1138-disk-0", enums.NameType.UNINTERPRETED_TEXT_STRING))])
    check("hypervisor: locate by name", found == [uid], str(found))
    c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
    c.destroy(uid)
    check("hypervisor: revoke and destroy", c.locate(attributes=[factory.create_attribute(
        enums.AttributeType.NAME, attributes.Name.create("vm-1138-disk-0",
                                                         enums.NameType.UNINTERPRETED_TEXT_STRING))]) == [])

check.finish()
