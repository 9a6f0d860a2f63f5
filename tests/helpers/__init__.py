"""Shared test helpers (import as ``tests.helpers.<module>``; tests/conftest.py puts the
repository root on ``sys.path``).

- ``servers``: run an ASGI app under uvicorn or hypercorn (asyncio or trio) on 127.0.0.1,
  in a thread (``serve``) or a child process (``serve_subprocess``); yields the base URL.
  ``child_process``: any command as a child of ours, stopped by PID (or its own group).
- ``asgi``: drive an app by hand: an HTTP scope, body chunks, a recorded ``send``, one
  bounded run (for what the test client cannot do).
- ``distributions``: install a throw-away plugin distribution (``.dist-info`` + entry points).
- ``apps``: a tiny exact-path router plugin and a header-adding middleware for kernel tests.
- ``hookdoc``: renders docs/hooks.md from the hookspec docstrings.
- ``waiting``: ``wait_until``, the one bounded poll for what no event can signal (another
  process, a server thread), with ``listening``/``answer``/``process_exited`` conditions.
- ``workers``, ``redis``, ``browser``, ``debian``: uvicorn workers on their own ports, a real
  redis-server, headless Chromium, and the apt-get installer behind the last two.
"""
