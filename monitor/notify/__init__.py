"""Alert delivery: render outbox rows and send them through apprise, one target at a time.

apprise does the sending for every service it supports (``mailto://``, Slack, Matrix,
ntfy, webhooks, ...). It keeps no queue and reports one True/False for all targets of an
``Apprise`` object together, so each target is sent on its own and the outbox remembers
which targets already accepted a message: a retry never resends to those.

    render      Jinja2 templates -> Message (title, Markdown, HTML); user overrides
    targets     send one Message to one apprise URL; target keys and labels (no secrets)
    policy      instant or digest, max_per_hour, quiet hours, backoff (pure functions)
    dispatcher  the outbox loop: close digest windows, claim, route, send, record

The ``console://`` plugin lives in ``monitor.console`` (the config checks need it too).
Channel secrets are masked in every log record by ``monitor.redact``.
"""

from __future__ import annotations

from monitor import console  # noqa: F401  (registers the console:// apprise plugin)
from monitor.notify.dispatcher import Dispatcher as Dispatcher
from monitor.notify.dispatcher import DispatchReport as DispatchReport
from monitor.notify.policy import backoff as backoff
from monitor.notify.render import Message as Message
from monitor.notify.render import Templates as Templates
from monitor.notify.render import render_alert as render_alert
from monitor.notify.targets import send as send
from monitor.notify.targets import target_key as target_key
