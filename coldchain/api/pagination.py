from __future__ import annotations

from rest_framework.pagination import CursorPagination, LimitOffsetPagination


class LimitOffsetPage(LimitOffsetPagination):
    """``?limit=&offset=``, with a count; at most 1000 rows a page."""

    max_limit = 1000


class ReadingCursorPage(CursorPagination):
    """Readings page by an opaque cursor, newest first: no COUNT over millions
    of rows, and a stable page while new readings arrive."""

    ordering = ("-ts", "-id")
    page_size_query_param = "limit"
    max_page_size = 1000
