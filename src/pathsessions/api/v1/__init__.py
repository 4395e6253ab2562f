"""The v1 API: everything that is v1's wire contract, and nothing else knows it.

`routes` (the table), `handlers`, `requests` (bodies and check order), `views` (JSON shapes),
`auth` (where credentials are read), `errors` (codes, sentences, bodies), `openapi` (its part of
the description), and `facade` (what the pipeline asks of it).
"""
