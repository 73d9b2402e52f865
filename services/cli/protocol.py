"""``uzdik verify-protocol FILE.pdf``: a protocol proves itself from the file alone.

A signed protocol's PDF (PDF/A-3b) carries ``protocol.json`` — the canonical document the chair
and the secretary signed, with (``uzdik/protocol/v2``) the number and every name its text
states —, ``signatures.json`` and ``rendering.json`` (its language; for a v1 document, also its
number and the register's names, which were not signed). Offline, without any service, this
checks in order and names the first thing that does not hold: the attachments are there; the
document is canonical and its SHA-256 is the signed digest; both signatures (chair, secretary)
verify over that digest with their keys (and, with ``--keys``, are the keys the edition
registered for those people); the visible text of every page is the rendering of that
document — so a name altered in the text is caught, whatever ``rendering.json`` says.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from services.cli.common import EXIT_FAILED, Refused, app

out = Console(soft_wrap=True)  # the verdict is the command's output (stdout); errors go to stderr

ATTACHED = ("protocol.json", "signatures.json", "rendering.json")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    says: str


def _attachments(pdf: bytes) -> dict[str, bytes]:
    from pypdf import PdfReader

    found: dict[str, bytes] = {}
    for name, contents in PdfReader(BytesIO(pdf)).attachments.items():
        if contents:
            found[name] = contents[0]
    return found


def _page_texts(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(BytesIO(pdf)).pages]


def _first_difference(shown: list[str], rendered: list[str]) -> str | None:
    if len(shown) != len(rendered):
        return f"the file has {len(shown)} pages; the signed document renders to {len(rendered)}"
    for number, (a, b) in enumerate(zip(shown, rendered, strict=True), 1):
        if a != b:
            at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
            at = min(len(a), len(b)) if at is None else at
            return (
                f"page {number}: the file shows …{a[max(0, at - 30) : at + 40]}… where the "
                f"signed document renders …{b[max(0, at - 30) : at + 40]}…"
            )
    return None


def verify(pdf: bytes, keys: dict[str, str] | None = None) -> Verdict:
    """Check a protocol's PDF from the file alone (see the module's docstring)."""
    from services.reporting.documents import protocol as protocols
    from services.reporting.documents import signed
    from services.scoring.domain.signatures import verify_digest
    from services.scoring.events import registry

    files = _attachments(pdf)
    if missing := [name for name in ATTACHED if name not in files]:
        return Verdict(False, f"no {', '.join(missing)} attached: not a signed uzdik protocol")
    try:
        document = json.loads(files["protocol.json"])
        sealed = json.loads(files["signatures.json"])
        rendering = json.loads(files["rendering.json"])
    except ValueError as bad:
        return Verdict(False, f"an attachment is not JSON: {bad}")
    if signed.canonical(document) != files["protocol.json"]:
        return Verdict(False, "protocol.json is not in its canonical form: it was rewritten")
    digest = hashlib.sha256(files["protocol.json"]).hexdigest()
    if digest != sealed.get("digest"):
        return Verdict(
            False, f"protocol.json's SHA-256 is {digest}, not the signed {sealed.get('digest')}"
        )
    problem = _signatures(sealed, digest, keys, verify_digest)
    if problem:
        return Verdict(False, problem)
    made = signed.render_signed(document, sealed, rendering, registry)
    again = protocols.render_pdf(made.page, files, sealed.get("signed_at"))
    shown = _page_texts(pdf)  # pypdf's text extraction is most of this command's time
    difference = _first_difference(shown, _page_texts(again))
    if difference:
        return Verdict(False, f"the visible text is not the signed document's: {difference}")
    sitting = document["sitting"]["sitting_id"]
    people = signed.people(document, rendering)
    names = {s["role"]: _name(s["person_id"], people) for s in sealed["signatures"]}
    caveat = "" if document.get("names") is not None else f" ({signed.UNSIGNED})"
    return Verdict(
        True,
        f"the protocol of sitting {sitting} is the document signed on {sealed['signed_at']} by "
        f"the chair {names['chair']} and the secretary {names['secretary']} (SHA-256 "
        f"{digest}); its {len(shown)} pages show that document{caveat}",
    )


def _signatures(
    sealed: dict[str, Any], digest: str, keys: dict[str, str] | None, check: Any
) -> str | None:
    by_role = {s.get("role"): s for s in sealed.get("signatures", [])}
    for role in ("chair", "secretary"):
        s = by_role.get(role)
        if s is None:
            return f"the {role}'s signature is missing"
        if not check(s["public_key"], digest, s["signature"]):
            return f"the {role}'s signature ({s['person_id']}) does not verify over the digest"
        if keys is not None and keys.get(s["person_id"]) != s["public_key"]:
            return (
                f"the {role} ({s['person_id']}) signed with a key the edition did not register "
                f"for them: {s['public_key']}"
            )
    return None


def _name(person_id: str, commission: dict[str, Any]) -> str:
    people = [*(commission.get("members") or []), commission.get("secretary") or {}]
    found = next((p.get("name") for p in people if p.get("person_id") == person_id), None)
    return f"{found} ({person_id})" if found else person_id


@app.command("verify-protocol")
def verify_protocol(
    file: Annotated[Path, typer.Argument(help="The protocol's PDF.", metavar="FILE.pdf")],
    keys: Annotated[
        Path | None,
        typer.Option(
            help="JSON {person_id: public key}: the signing keys the edition registered.",
            metavar="KEYS",
        ),
    ] = None,
) -> None:
    """Check a signed protocol from its PDF alone.

    The attached document's digest, the chair's and the secretary's signatures over it (and
    their keys against KEYS), and that the visible text is the rendering of that document.
    Offline; the first mismatch is named and the exit code is 1.
    """
    if not file.is_file():
        raise Refused(f"{file} is not a file")
    known = None
    if keys is not None:
        try:
            known = dict(json.loads(keys.read_text("utf-8")))
        except (OSError, ValueError, TypeError) as bad:
            raise Refused(f"{keys} is not a JSON object of person ids and keys: {bad}") from None
    verdict = verify(file.read_bytes(), known)
    if verdict.ok:
        out.print(f"[green]verified[/green]: {file}: {verdict.says}")
        return
    out.print(f"[red]NOT verified[/red]: {file}: {verdict.says}")
    raise typer.Exit(EXIT_FAILED)


@app.command("signing-key")
def signing_key(
    out_file: Annotated[
        Path, typer.Argument(help="Where the private key goes (PKCS#8 PEM).", metavar="KEY.pem")
    ],
) -> None:
    """Make your Ed25519 signing key (chair, secretary).

    The private key goes to KEY.pem (readable by its owner only), the public key is printed.
    Keep KEY.pem on your own device."""
    from cryptography.hazmat.primitives import serialization

    from services.scoring.domain.signatures import generate_key_pair

    if out_file.exists():
        raise Refused(f"{out_file} exists: a signing key is never overwritten")
    private, public = generate_key_pair()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    out_file.touch(mode=0o600)
    out_file.write_bytes(pem)
    out.print(f"public key: {public}")


@app.command("sign-protocol")
def sign_protocol(
    digest: Annotated[str, typer.Argument(help="The protocol's digest (64 hex characters).")],
    key: Annotated[Path, typer.Option(help="Your private key (PKCS#8 PEM, Ed25519).")],
) -> None:
    """Sign a protocol's digest with your own key, offline.

    Prints the public key and the signature to paste into the portal (or to send to
    scoring's signatures endpoint)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from services.scoring.domain.signatures import public_key_text, sign_digest

    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise Refused("the digest is 64 lowercase hex characters, as the portal shows it")
    try:
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as bad:
        raise Refused(f"{key} is not a readable PEM private key: {bad}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise Refused(f"{key} is not an Ed25519 key")
    out.print(f"public key: {public_key_text(private)}")
    out.print(f"signature: {sign_digest(private, digest)}")
