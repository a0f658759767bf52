"""The analysts' desk: ``monitor web``, a server-rendered view of matches, feeds, search and an API.

FastAPI (on Starlette) does the HTTP work, Jinja2 renders the pages, uvicorn serves them,
feedgen writes the Atom feeds. ``app`` builds the application from a ``Config`` and a
``Database``; ``pages`` are the HTML routes, ``api`` the JSON ones (with OpenAPI), ``feeds``
the per-rule Atom feeds, ``security`` the login, tokens and CSRF checks, ``render`` the
highlighting and the chart. The queries live below, in ``monitor.store.desk`` and
``monitor.watch.search``. Sits between ``monitor.demo`` and ``monitor.ops``.
"""

from __future__ import annotations
