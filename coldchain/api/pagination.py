from __future__ import annotations

from rest_framework.pagination import CursorPagination, LimitOffsetPagination


class LimitOffsetPage(LimitOffsetPagination):
    """``?limit=&offset=``, with a count; at most 1000 rows a page."""

    max_limit = 1000


class ReadingCursorPage(CursorPagination):
    """Readings page by an opaque cursor, last stored first: no COUNT over
    millions of rows, and a stable page while new readings arrive.

    Storage order (``id``) rather than device time by default: the primary
    key serves it from an index, where ``ts`` alone has none (only
    ``(device, ts)``, kept lean for ingest), so ``?ordering=-ts`` is fast
    with a ``device`` filter and a sort of every visible row without one.
    """

    ordering = "-id"
    page_size_query_param = "limit"
    max_page_size = 1000
