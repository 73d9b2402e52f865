"""The resident survey service (DOMAIN §14.3, Annex 5): each resident of a nominee's rural
district rates the akim once on the Annex 5 criteria; the result is the mean per criterion and
in total, with the number of responses.

Public contract: :mod:`services.survey.events`. Rules: :mod:`services.survey.domain`.
Pages: :mod:`services.survey.web` (templates in ``templates/``, catalogs in ``locales/``).
"""
