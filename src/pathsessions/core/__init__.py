"""The version-neutral core: the model, the rules and operations, the clock, the error codes.

Nothing here knows HTTP or any API version's wire format. Leaves (`model`, `values`, `ids`,
`clock`, `errors`, `keys`, `tokens`) import nothing of ours outside this set; storage may import
them. The operations (`sessions`, `directory`, `credentials`, `operators`) take the company,
the storage and the clock as arguments and raise `DomainError`.
"""
