"""The bundled demo: a fake automotive news site served on 127.0.0.1."""

from __future__ import annotations
