"""Failing fast without the Hugging Face hub: one check used by model loading and dataset loading.

``datasets``/``huggingface_hub`` retry for minutes when offline; code that would reach the hub
asks ``hub_unavailable()`` first and raises a clear error naming the parameter to set instead.
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 5.0


def reachable(url: str) -> bool:
    """Can we open a TCP connection to ``url``'s host within PROBE_TIMEOUT_S?

    Runs in a daemon thread because name resolution has no timeout of its own.
    """
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    ok = []

    def probe():
        try:
            socket.create_connection((parsed.hostname, port), timeout=PROBE_TIMEOUT_S).close()
            ok.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(PROBE_TIMEOUT_S)
    return bool(ok)


def hub_unavailable() -> str | None:
    """Why the hub cannot be used right now, or None when it can."""
    flags = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    if any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in flags):
        return "HF_HUB_OFFLINE/HF_DATASETS_OFFLINE is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if not reachable(endpoint):
        return f"no connection to {endpoint} within {PROBE_TIMEOUT_S:.0f} s"
    return None
