"""Compatibility: the paging styles live in :mod:`skiff.http.paging`, one module each."""

from __future__ import annotations

from .paging import Fetch, Page, paginate, requested_page

__all__ = ["Fetch", "Page", "paginate", "requested_page"]
