"""The pure domain of the nominations service (DOMAIN §6–§11, Annexes 1–3).

Nothing here does I/O except the two small resource loaders that read data shipped in
``services/nominations/data`` (:func:`.territory.load_territory`, :func:`.rubric.load_rubric`,
:func:`.figures.load_figures`). Time always comes in as an argument.
"""
