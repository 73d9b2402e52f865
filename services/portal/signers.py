"""How a protocol's signature reaches the portal: the signer adapters.

The chair and the secretary sign ``signing`` (the context line and the digest the service
states, :mod:`services.scoring.domain.signatures`) with a key that never leaves their device.
A signer adapter turns what their device produced into the body scoring's
``POST /v1/sittings/{id}/protocol/signatures`` takes (``digest``, ``public_key``,
``signature``). Two adapters ship:

* ``ed25519`` — the signature and the public key pasted (or filled in by the page's script,
  which signs in the browser with WebCrypto Ed25519 from the person's PKCS#8 key file, read
  locally and never sent); ``uzdik sign-protocol DIGEST --key KEY.pem`` makes them offline;
* anything else (the national PKI's NCALayer, CMS signatures) is a new class with the same
  two members, registered in :data:`SIGNERS`; the service that verifies must learn the new
  signature kind too (scoring's ``signatures`` module), nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class Signer(Protocol):
    @property
    def name(self) -> str:
        """The method's name, as the signing form sends it."""
        ...

    def body(self, digest: str, form: Mapping[str, Any]) -> dict[str, str]:
        """The signature body for scoring, from the submitted form (ValueError: incomplete)."""
        ...


@dataclass(frozen=True)
class Ed25519Signer:
    name: str = "ed25519"

    def body(self, digest: str, form: Mapping[str, Any]) -> dict[str, str]:
        key = str(form.get("public_key", "")).strip()
        signature = str(form.get("signature", "")).strip()
        if not key or not signature:
            raise ValueError("the public key and the signature are both needed")
        return {"digest": digest, "public_key": key, "signature": signature}


SIGNERS: dict[str, Signer] = {"ed25519": Ed25519Signer()}
