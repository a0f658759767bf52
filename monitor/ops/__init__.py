"""Operating the monitor: the scheduler that runs every job, status tables and metrics."""

from __future__ import annotations
