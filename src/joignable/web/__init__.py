"""The web entry point: an ASGI app (FastAPI) over one ``Center``.

Nothing here opens a database or a socket at import time: ``joignable.bootstrap`` wires the
ledger, the center, the accounts store and the app, and ``create_app`` only builds routes.
"""
