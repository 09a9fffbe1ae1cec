"""skiff studio: a local web app to browse components, try them against a sandbox, and draw flows.

``skiff studio`` serves it on loopback with a one-time token (see :mod:`.security`). The page is
plain HTML, CSS and JavaScript shipped in the package (``static/``): nothing is fetched from
elsewhere at run time.
"""

from __future__ import annotations

from .app import StudioSettings, create_app
from .server import StudioServer, serve_studio

__all__ = ["StudioServer", "StudioSettings", "create_app", "serve_studio"]
