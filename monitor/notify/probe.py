"""``monitor notify-test``: a sample alert to every target of one channel, by the alert path.

The sample is the project's canonical story (Daimler and Renault's small-car alliance),
rendered by the channel's templates and time zone and sent by the same ``send`` as real
alerts, so a passing test means real alerts will look and arrive the same way. Nothing
is written to the outbox. Labels and errors come back masked (``monitor.redact``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from monitor.errors import NotifyError
from monitor.notify.render import Entry, Templates, local_time
from monitor.notify.targets import send, target_label
from monitor.redact import protect, redact

SAMPLE = Entry(
    rule="notify-test",
    title="Daimler, Renault Team Up for Small Car Alliance",
    url="http://www.autoguide.com/auto-news/2010/04/daimler-renault-team-up-for-small-car-alliance.html",
    outlet="AutoGuide.com",
    authors=("Colum Wood",),
    snippet="… set to be announced tomorrow in Brussels with **Daimler** CEO **Dieter Zetsche** and "
    "**Renault-Nissan** Boss **Carlos Ghosn** taking part …",
    terms=("Daimler", "Dieter Zetsche", "Renault-Nissan", "Carlos Ghosn"),
)
PUBLISHED = datetime(2010, 4, 6, 17, 30, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One target's answer to the test: its label and the error, if any."""

    label: str
    error: str | None = None


def probe_channel(
    tag: str, urls: Sequence[str], templates: Templates, timezone: str = "UTC"
) -> list[ProbeResult]:
    """Send the sample alert to each of ``urls`` on its own; one result per target."""
    protect(urls)
    entry = replace(SAMPLE, published=local_time(PUBLISHED, timezone))
    message = templates.alert(entry, tag)
    results = []
    for index, url in enumerate(urls, start=1):
        label = target_label(tag, index, url)
        try:
            send(url, message, label)
        except NotifyError as exc:
            results.append(ProbeResult(label, redact(str(exc))))
        else:
            results.append(ProbeResult(label))
    return results
