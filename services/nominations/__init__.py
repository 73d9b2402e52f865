"""Nominations: editions (calendar, deadlines) and applications (file, documents, admission).

DOMAIN.md §6–§11 and Annexes 1–3. The public event contract is :mod:`.events`; the rules live
in the pure :mod:`.domain` package; :mod:`.handlers` is the service layer (one function per
command); :mod:`.adapters` hold the blob store, media sniffing and the lookup documents;
:mod:`.entrypoints` the HTTP API under ``/v1``; :mod:`.bootstrap` wires them from settings.
The whole-edition demo drives it from the top-level ``demo`` package.
"""
