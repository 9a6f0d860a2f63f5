"""An app with every onion plugin enabled: what ``lamina middleware`` inspects in the tests."""

from __future__ import annotations

from lamina.testing import make_app

SETTINGS = {
    "guards": {"trusted_hosts": ["testserver", "*.example.com"], "https_redirect": True},
    "cors": {"allow_origins": ["https://app.example.com"]},
    "gzip": {},
    "background": {},
    "sessions": {"secret_key": "onion-order-test-secret-0123456789"},
}

app = make_app("guards", "cors", "gzip", "background", "sessions", "auth", settings=SETTINGS)
