"""A SAML identity provider for meetvault-saml's tests, built on pysaml2 (which signs with the
xmlsec1 binary) and lxml (the reference exclusive canonicalization). Everything is local files;
nothing here opens a socket.

Commands (all take --dir, a scratch directory):
  metadata  [--name N] [--key-type rsa|ec]        make N.key/N.crt if missing, write N-metadata.xml
  respond   --sp-metadata F --request SAMLRequest  print a base64 signed Response on stdout
            [--name N] [--sign assertion|response|both|none] [--identity JSON]
            [--sign-alg URI] [--digest-alg URI] [--name-id V] [--lifetime-minutes M]
            [--unsolicited]                          (no InResponseTo: IdP-initiated)
  c14n                                             JSON cases on stdin → canonical forms (base64)
"""
import argparse
import base64
import json
import os
import subprocess
import sys

IDP_ENTITY = "https://idp.test.invalid/metadata"
SSO_URL = "https://idp.test.invalid/sso"


def make_key(directory, name, key_type):
    key = os.path.join(directory, name + ".key")
    crt = os.path.join(directory, name + ".crt")
    if not (os.path.exists(key) and os.path.exists(crt)):
        if key_type == "ec":
            newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        else:
            newkey = ["-newkey", "rsa:2048"]
        subprocess.run(
            ["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", crt,
             "-days", "3650", "-subj", "/CN=" + name + ".test.invalid"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return key, crt


def idp_config(directory, name, key_type, sp_metadata=None, lifetime=15):
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig
    from saml2.saml import NAME_FORMAT_URI
    key, crt = make_key(directory, name, key_type)
    conf = {
        "entityid": IDP_ENTITY,
        "service": {
            "idp": {
                "name": "Test IdP",
                "endpoints": {
                    "single_sign_on_service": [
                        (SSO_URL, BINDING_HTTP_REDIRECT),
                        (SSO_URL + "/post", BINDING_HTTP_POST),
                    ],
                },
                "policy": {
                    "default": {
                        "lifetime": {"minutes": lifetime},
                        "attribute_restrictions": None,
                        "name_form": NAME_FORMAT_URI,
                    },
                },
                "name_id_format": [
                    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
                ],
            },
        },
        "key_file": key,
        "cert_file": crt,
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "metadata": {"local": [sp_metadata]} if sp_metadata else {},
    }
    config = IdPConfig()
    config.load(conf)
    return config


def cmd_metadata(args):
    from saml2.metadata import create_metadata_string
    config = idp_config(args.dir, args.name, args.key_type)
    xml = create_metadata_string(None, config=config, sign=False)
    path = os.path.join(args.dir, args.name + "-metadata.xml")
    with open(path, "wb") as f:
        f.write(xml if isinstance(xml, bytes) else xml.encode())
    print(path)


def cmd_respond(args):
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
    from saml2.server import Server
    config = idp_config(args.dir, args.name, args.key_type, args.sp_metadata, args.lifetime_minutes)
    server = Server(config=config)
    request = server.parse_authn_request(args.request, BINDING_HTTP_REDIRECT)
    message = request.message
    identity = json.loads(args.identity)
    name_id = NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=args.name_id)
    sign = args.sign
    extra = {}
    if args.sign_alg:
        extra["sign_alg"] = args.sign_alg
    if args.digest_alg:
        extra["digest_alg"] = args.digest_alg
    response = server.create_authn_response(
        identity,
        in_response_to=None if args.unsolicited else message.id,
        destination=message.assertion_consumer_service_url,
        sp_entity_id=message.issuer.text,
        name_id=name_id,
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
               "authn_auth": IDP_ENTITY},
        sign_assertion=sign in ("assertion", "both"),
        sign_response=sign in ("response", "both"),
        **extra,
    )
    xml = response if isinstance(response, bytes) else str(response).encode()
    sys.stdout.write(base64.b64encode(xml).decode())


def cmd_c14n(_args):
    from lxml import etree
    out = []
    for case in json.load(sys.stdin):
        parser = etree.XMLParser(resolve_entities=False, remove_blank_text=False)
        with open(case["file"], "rb") as f:
            root = etree.fromstring(f.read(), parser)
        el = root
        if case.get("id"):
            found = root.xpath("//*[@ID=$v or @Id=$v or @id=$v]", v=case["id"])
            el = found[0]
        canonical = etree.tostring(
            el, method="c14n", exclusive=True, with_comments=case.get("with_comments", False),
            inclusive_ns_prefixes=case.get("prefixes") or None)
        out.append(base64.b64encode(canonical).decode())
    json.dump(out, sys.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["metadata", "respond", "c14n"])
    parser.add_argument("--dir", default=".")
    parser.add_argument("--name", default="idp")
    parser.add_argument("--key-type", default="rsa", choices=["rsa", "ec"])
    parser.add_argument("--sp-metadata")
    parser.add_argument("--request")
    parser.add_argument("--sign", default="assertion", choices=["assertion", "response", "both", "none"])
    parser.add_argument("--identity", default="{}")
    parser.add_argument("--name-id", default="alice@example.org")
    parser.add_argument("--sign-alg")
    parser.add_argument("--digest-alg")
    parser.add_argument("--unsolicited", action="store_true")
    parser.add_argument("--lifetime-minutes", type=int, default=15)
    args = parser.parse_args()
    {"metadata": cmd_metadata, "respond": cmd_respond, "c14n": cmd_c14n}[args.command](args)


if __name__ == "__main__":
    main()
