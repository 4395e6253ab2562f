"""The v2 API: everything that is v2's wire contract (docs/api-v2.md), and nothing else knows it.

How to add a v2 endpoint, in one module of this package (groups.py is the worked example):

1. Handler: `async def f(request, ctx, client) -> Response`: decode, one core call, encode.
   `client.company` is the tenant. Body: `bodies.decode(request, MyBody)` with a msgspec Struct
   in the API's field names (`bodies.DateTime` for a date-time; `T | None | UnsetType = UNSET`
   where a PATCH tells absent from null); it raises `BadRequest` naming the field path.
   Dates out: `dates.to_wire(ms)`. Optional output fields are left out, never null.
2. Route and scope: add `operation(METHOD, path, operation_id, handler, scope, **doc)` to the
   module's `OPERATIONS` (operation ids as the published document spells them), give it a
   `SCHEMAS` dict (component schemas, `ref("Name")` to point at one), and list the module in
   `routes.MODULES`. The façade checks token, version header and scope before the handler runs.
3. Lists: declare `LIST = Listing(operation_id, page_size, {"createdAt": filters.DATE, "pathId":
   filters.ID, "status": filters.choice("published", "archived")})`; the handler does
   `asked = LIST.read(request, ctx, client)`, hands `asked.query` (core/listing.py) to the core,
   whose storage call ends in `storage.listing.fetch_page(db, select, args, query, COLUMNS,
   record)` with a map from filter names to columns, and answers `asked.answer(page, item)`.
4. Errors: raise `DomainError(code)` in the core; `errors.ERRORS` gives its status, camelCase
   code and message (move a code out of `NOT_RAISED` when v2 starts answering it). A URL id
   that is malformed answers as that object's not-found where it is looked up.
5. Description: `doc` takes tags, summary, description?, parameters (`schemas.path_id`,
   `schemas.filter_parameters(LIST.filters)`), requestBody?, success (`schemas.ok` /
   `schemas.page`) and `errors` (the wire codes the operation's own checks answer; the
   conventions' codes are added by openapi.py). Then add the endpoint to docs/api-v2.md.
"""
