"""`studio.toml`: load, validate up front (one-line errors), and apply command-line overrides.

Each stage owns the dataclass of its section (`crawler.config.CrawlConfig`,
`curation.config.CurateConfig`, `gan.config.TrainConfig`); this module composes them and checks
every key and type against those dataclasses, so a typo fails before any work starts.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from crawler.config import CrawlConfig
from curation.config import CurateConfig
from gan.config import TrainConfig
from studio.errors import UserError

TEMPLATE = Path(__file__).with_name("studio.toml")


@dataclass
class SourcesConfig:
    urls: list[str] = field(default_factory=list)  # start pages of the crawl
    allow_domains: list[str] = field(default_factory=list)  # extra hosts (CDNs); start hosts are always allowed


@dataclass
class ScheduleConfig:
    cron: str = "0 3 * * *"  # crontab expression (minute hour day month weekday), local time
    misfire_grace_s: int = 3600  # a run missed by less than this (machine asleep) still happens

    def validate(self) -> None:
        if len(self.cron.split()) != 5:
            raise ValueError(f"cron must have 5 fields (minute hour day month weekday), got {self.cron!r}")
        if self.misfire_grace_s < 1:
            raise ValueError("misfire_grace_s must be >= 1")


NOTIFY_PREFIXES = ("slack+", "discord+", "json+")  # gan.notify's format prefixes


@dataclass
class PipelineConfig:
    min_new_accepted: int = 50  # retrain only when at least this many new accepted crops exist
    warm_start: bool = True  # fine-tune the promoted model instead of training from scratch
    steps: int = 2000  # training step budget of one pipeline run
    tolerance: float = 0.05  # promote unless the new metric is worse by more than this fraction
    eval_images: int = 512  # generated and real images per gate evaluation (same set, same seed for both models)
    eval_seed: int = 0  # seed of the gate's noise and real-image draw, so both models see the same set
    notify_url: str = ""  # chat webhook the run report is posted to (empty = none); see notify_format
    notify_format: str = "auto"  # slack, discord, json, or auto: from the URL (its host, or a slack+/discord+/json+ prefix)
    sanity_check: bool = True  # a `studio train --sanity` run before the first training of the workspace

    def validate(self) -> None:
        if self.min_new_accepted < 0:
            raise ValueError("min_new_accepted must be >= 0")
        if self.steps < 1 or self.eval_images < 2:
            raise ValueError("steps must be >= 1 and eval_images >= 2")
        if self.tolerance < 0:
            raise ValueError("tolerance must be >= 0")
        url = self.notify_url.split("+", 1)[-1] if self.notify_url.startswith(NOTIFY_PREFIXES) else self.notify_url
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("notify_url must start with http:// or https:// (or slack+, discord+, json+ before it)")
        if self.notify_format not in ("auto", "slack", "discord", "json"):
            raise ValueError("notify_format must be auto, slack, discord or json")


@dataclass
class StudioConfig:
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    curate: CurateConfig = field(default_factory=CurateConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)


def config_text(values: dict[str, dict[str, Any]], text: str | None = None) -> str:
    """studio.toml's text: `text` (default: the commented TEMPLATE) with `values` ({section:
    {key: value}}) set by a TOML library, so every key keeps its comment and the layout stays.
    The one way the studio writes a studio.toml (`studio init`, `studio demo`)."""
    text = TEMPLATE.read_text(encoding="utf-8") if text is None else text
    if not values:
        return text
    doc = tomlkit.parse(text)
    for section, keys in values.items():
        table = doc.setdefault(section, tomlkit.table())
        for key, value in keys.items():
            table[key] = value  # replacing a value keeps its comment
    return tomlkit.dumps(doc)


def load_config(path: Path) -> StudioConfig:
    """Read and validate `studio.toml`; a missing file gives the defaults."""
    if not path.exists():
        return StudioConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    return build(StudioConfig, data, where=str(path))


def build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Make dataclass `cls` from a TOML table, rejecting unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise UserError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    values = {}
    for name, value in data.items():
        hint = hints[name]
        label = f"{where} [{name}]" if dataclasses.is_dataclass(hint) else f"{where}: {name}"
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise UserError(f"{label} must be a table")
            values[name] = build(hint, value, where=f"{where} [{name}]")
        else:
            values[name] = _check(value, hint, label)
    return _validated(cls(**values), where)


def _validated(obj: Any, where: str) -> Any:
    """Run the section's own range checks (`validate()` raising ValueError), if it has any."""
    validate = getattr(obj, "validate", None)
    if validate is not None:
        try:
            validate()
        except ValueError as exc:
            raise UserError(f"{where}: {exc}") from None
    return obj


def override(section: Any, **flags: Any) -> Any:
    """Return `section` with the command-line flags that were given (not None) applied."""
    given = {k: v for k, v in flags.items() if v is not None}
    hints = typing.get_type_hints(type(section))
    for key, value in given.items():
        _check(value, hints[key], f"--{key.replace('_', '-')}")
    return _validated(dataclasses.replace(section, **given), "command line")


def _check(value: Any, hint: Any, label: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check(value, option, label)
            except UserError as exc:
                errors.append(str(exc))
        raise UserError(errors[0])
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise UserError(f"{label} must be a list, got {value!r}")
        return [_check(v, item, label) for v in value]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is bool and not isinstance(value, bool):
        raise UserError(f"{label} must be true or false, got {value!r}")
    if hint in (int, float) and isinstance(value, bool):
        raise UserError(f"{label} must be a number, got {value!r}")
    if not isinstance(value, hint):
        raise UserError(f"{label} must be {hint.__name__}, got {value!r}")
    return value
