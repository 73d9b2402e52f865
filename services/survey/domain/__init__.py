"""Pure rules of the resident survey (DOMAIN §14.3, Annex 5); no I/O, time is passed in.

Where each rule lives:

* ``iin`` — the IIN checksum, date-of-birth and century digits; the stored resident key (HMAC).
* ``rubric`` — Annex 5 criteria and the edition's survey rules, loaded from ``../data``.
* ``answers`` — a response as sent; every problem of it named (``answers[i]``).
* ``survey`` — decisions: open, record a response (once per resident), flag, close.
* ``state`` — ``evolve`` and ``replay`` of a survey's events.
* ``roll`` — the residents' roll: keys, canonical digest, upload.
* ``results`` — live tally and the closing result (means rounded half-up to 4 decimals).
* ``abuse`` — rate limits (429 ``rate_limited``) and burst flags (flag, never drop).
* ``csv_import`` — paper polls: a CSV imported whole or not at all.
"""
