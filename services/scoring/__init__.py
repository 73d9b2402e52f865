"""Scoring: commissions, sittings, evaluation sheets, stages and their decisions.

DOMAIN.md §3–§5 and §12–§21, Annexes 4, 6 and 7. The public event contract is :mod:`.events`;
the rules live in the pure :mod:`.domain` package (``decide``/``evolve``); the rubrics of an
edition are data in ``data/``.
"""
