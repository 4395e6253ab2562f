"""`GET /__admin/companies/{id}/sessions.csv` and `…/enrollments.csv`: a company's sessions
and enrollments as CSV, streamed (docs/sandbox.md, "Exports"; the format is core/exports.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..api.context import Context
from ..core.exports import CSV_TYPE, EXPORTS, Export, csv_chunks
from ..web.asgi import Request, Response, StreamAborted
from ..web.pipeline import log_fault
from .state import existing_company


async def _guarded(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Once the status line is out, a failure can only cut the answer short: the fault is
    logged as the control API logs its others, and the server is handed nothing else (a
    truncated CSV must not look complete)."""
    try:
        async for chunk in chunks:
            yield chunk
    except Exception as exc:
        log_fault(exc, "admin")
        raise StreamAborted("admin") from None


async def _export(export: Export, request: Request, ctx: Context) -> Response:
    company_id = await existing_company(ctx, request.params["companyId"])
    response = Response(
        200,
        b"",
        CSV_TYPE,
        stream=csv_chunks(export, ctx.db, company_id),
        headers=[
            (
                b"content-disposition",
                f'attachment; filename="{company_id}-{export.name}.csv"'.encode(),
            )
        ],
    )
    # The first chunk (the header and the first rows) is read now: a failing query is then
    # still answered as an error.
    await response.prime()
    assert response.stream is not None
    response.stream = _guarded(response.stream)
    return response


async def sessions_csv(request: Request, ctx: Context) -> Response:
    return await _export(EXPORTS["sessions"], request, ctx)


async def enrollments_csv(request: Request, ctx: Context) -> Response:
    return await _export(EXPORTS["enrollments"], request, ctx)
