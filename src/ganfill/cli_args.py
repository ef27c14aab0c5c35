"""argparse flags generated from the typed configs, so each option is written once (config.py).

A field's type gives the flag's type and choices (bool: --flag/--no-flag, Literal: choices,
tuple: a comma-separated list), its default the default, its docstring the help text.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

from ganfill.config import field_docs

Handler = Callable[[argparse.Namespace], int]
Verb = tuple[Handler, str, list[tuple[str, dict]], list[tuple[str, dict]], list[type]]
"""A CLI verb: handler, help, its positional arguments and flags of its own (each with argparse's
keywords), configs."""
OUT = ("--out", {"required": True, "help": "output folder"})
EXCLUDE = (
    "--exclude-file",
    {"help": "split file of file stems to leave out (the held-out split) and its NAME_twins.txt beside it"},
)
SWITCH = {"action": "store_true"}


def _base(annotation: Any) -> Any:
    """X for `X | None`, else the annotation itself."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def add_config(
    parser: argparse.ArgumentParser,
    cls: type,
    *,
    only: tuple[str, ...] | None = None,
    given_only: bool = False,
) -> None:
    """Add a --flag for each field of the dataclass cls (or those in only); given_only: a flag
    that is not given stays out of the parsed namespace (to change a saved config)."""
    hints, docs = typing.get_type_hints(cls), field_docs(cls)
    group = parser.add_argument_group(cls.__name__, (cls.__doc__ or "").strip())
    for f in dataclasses.fields(cls):
        kind = _base(hints[f.name])
        if (only is not None and f.name not in only) or dataclasses.is_dataclass(kind):
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        shown = ",".join(default) if isinstance(default, tuple) else default
        text = docs.get(f.name, "").replace("%", "%%")
        options: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
        mentioned = "default" in text.lower()
        options["help"] = text if mentioned else f"{text} (default: {'none' if shown is None else shown})"
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is Literal:
            options["choices"] = typing.get_args(kind)
        elif typing.get_origin(kind) is tuple:
            options["type"] = _comma_list
        else:
            options["type"] = kind
        group.add_argument("--" + f.name.replace("_", "-"), **options)
        if not given_only:
            parser.set_defaults(**{f.name: default})


def read_config(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The values of cls's fields that args holds (all of them, unless parsed with given_only)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


def build(cls: type, args: argparse.Namespace) -> Any:
    """An instance of the config cls from parsed args (fields not in args keep their defaults)."""
    return cls(**read_config(cls, args))
