"""Nominations: editions (calendar, deadlines) and applications (file, documents, admission).

DOMAIN.md §6–§11 and Annexes 1–3. The public event contract is :mod:`.events`; the rules live
in the pure :mod:`.domain` package; :mod:`.adapters` hold the blob store and media sniffing.
"""
