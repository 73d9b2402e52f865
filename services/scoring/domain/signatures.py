"""Ed25519 keys and signatures over a protocol digest (``cryptography``).

Each chair and secretary holds a personal key pair; the public key travels as base64 (or hex)
text. What is signed is ``CONTEXT + digest`` (the hex sha256 of the canonical protocol), so a
signature over a protocol can never be replayed as a signature over anything else.
Key generation draws on the OS's randomness: it is a helper for clients and tests, never part of
a decision.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CONTEXT = b"uzdik/protocol/v1\n"
KEY_BYTES = 32

Encoding_ = Literal["base64", "hex"]


def generate_key_pair() -> tuple[Ed25519PrivateKey, str]:
    """A new private key and its public key as base64 text."""
    private = Ed25519PrivateKey.generate()
    return private, public_key_text(private)


def public_key_text(
    key: Ed25519PrivateKey | Ed25519PublicKey, encoding: Encoding_ = "base64"
) -> str:
    """The raw 32-byte public key as base64 (default) or lowercase hex."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return raw.hex() if encoding == "hex" else base64.b64encode(raw).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from 64 hex digits or base64 of 32 bytes; ValueError otherwise."""
    return Ed25519PublicKey.from_public_bytes(_decode(text, KEY_BYTES))


def sign_digest(private: Ed25519PrivateKey, digest: str) -> str:
    """The base64 signature of a protocol digest."""
    return base64.b64encode(private.sign(CONTEXT + digest.encode("ascii"))).decode("ascii")


def verify_digest(public_key: str, digest: str, signature: str) -> bool:
    """True only for a well-formed key and a signature by it over exactly this digest."""
    try:
        key = load_public_key(public_key)
        key.verify(_decode(signature, 64), CONTEXT + digest.encode("ascii"))
    except (InvalidSignature, ValueError):
        return False
    return True


def _decode(text: str, size: int) -> bytes:
    if len(text) == 2 * size and all(c in "0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text)
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError("neither hex nor base64") from error
    if len(raw) != size:
        raise ValueError(f"expected {size} bytes, got {len(raw)}")
    return raw


def same_key(a: str, b: str) -> bool:
    """True when two public keys (base64 or hex) are the same 32 bytes."""
    try:
        return _decode(a, KEY_BYTES) == _decode(b, KEY_BYTES)
    except ValueError:
        return False
