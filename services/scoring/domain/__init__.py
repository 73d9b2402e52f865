"""The pure scoring domain: DOMAIN.md §3–§5, §12–§21, Annexes 4, 6, 7 and "What must hold".

No I/O, no framework: a handler loads events, folds them with :func:`evolve` (or
:func:`replay`) into a :class:`Scoring` built by :func:`initial`, calls :func:`decide` with a
command and appends what it returns. Refusals are :class:`shared.errors.DomainError` with a
stable ``code``. Module by rule: :mod:`.commission`, :mod:`.sitting`, :mod:`.sheets`,
:mod:`.stage`, :mod:`.stage1`, :mod:`.tiebreak`, :mod:`.casting`, :mod:`.regional`,
:mod:`.stage2`, :mod:`.winners`, :mod:`.protocol`, :mod:`.deadlines` (the edition's calendar);
the edition's figures are :mod:`.rules` and :mod:`.rubrics`.
"""

from services.scoring.domain.aggregate import decide, evolve, replay
from services.scoring.domain.edition_figures import ScoringRules
from services.scoring.domain.rubrics import RubricSet, load_rubrics
from services.scoring.domain.state import Scoring, initial

__all__ = [
    "RubricSet",
    "Scoring",
    "ScoringRules",
    "decide",
    "evolve",
    "initial",
    "load_rubrics",
    "replay",
]
