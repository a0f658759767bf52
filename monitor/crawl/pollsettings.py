"""Scrapy settings that a ``Crawler`` copies without ``copy.deepcopy``: one copy per poll, cheaply.

``Crawler.__init__`` takes its own copy of the settings it is given (``Settings.copy``, a
``copy.deepcopy`` of about 300 ``SettingsAttribute`` objects, the component dictionaries
included): about 1.5 to 3.5 ms of CPU per poll of the engine (``monitor.crawl.engine``),
the largest single part of building a crawler. ``TemplateSettings.copy`` makes the same
copy by hand: every attribute and every nested ``BaseSettings`` is new, so the crawler can
change and freeze its settings without touching the template or another crawl's; values
that cannot change (numbers, strings, ``None``) are shared, as ``deepcopy`` shares them
too; any other value (a list, a dict, an object) still goes through ``copy.deepcopy``.
"""

from __future__ import annotations

import copy
from typing import Any, Self

from scrapy.settings import BaseSettings, Settings, SettingsAttribute

_ATOMIC = (str, int, float, bool, bytes, type(None))


class TemplateSettings(Settings):
    """``Settings`` whose ``copy`` (what each ``Crawler`` makes of them) is cheap and just as deep."""

    def copy(self) -> Self:
        """A copy sharing no mutable part with this one (the copy is a ``TemplateSettings`` too)."""
        clone = _clone(self)
        assert isinstance(clone, type(self))
        return clone


def _clone(settings: BaseSettings) -> BaseSettings:
    clone = object.__new__(type(settings))
    clone.__dict__.update(settings.__dict__)
    clone.frozen = False
    clone.attributes = {name: _attribute(attribute) for name, attribute in settings.attributes.items()}
    return clone


def _attribute(attribute: SettingsAttribute) -> SettingsAttribute:
    clone = object.__new__(SettingsAttribute)
    clone.value = _value(attribute.value)
    clone.priority = attribute.priority
    return clone


def _value(value: Any) -> Any:
    if type(value) in _ATOMIC:
        return value
    if isinstance(value, BaseSettings):
        return _clone(value)
    return copy.deepcopy(value)
