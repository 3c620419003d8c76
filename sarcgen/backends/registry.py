"""The one registry of generation backends: each is one `BackendSpec`, registered once.

Every list of backends is derived from here: the names `generate.backend` accepts, the choices of
`--backend`, the option sections under `generate` (`BACKEND_OPTIONS`), and the factory
`create_backend` calls. The builtins are registered below; a third-party package registers its own
through the `sarcgen.backends` entry point group, whose entry points each load a `BackendSpec`:

    [project.entry-points."sarcgen.backends"]
    mine = "sarcgen_mine.spec:SPEC"

Plug-ins are discovered once, on the first question the builtins cannot answer (all names, or a
name that is not a builtin), so `sarcgen --help` and a recipe naming a builtin never read the
installed packages' metadata. Factories and option models may be "module:Name" strings, imported
only when that backend is chosen.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

from sarcgen.errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

    from sarcgen.backends.base import Backend

# Called as factory(recipe, model_spec): the recipe module imports this registry (its backend field is
# checked against it), so the registry names neither Recipe nor the options base class.
BackendFactory: TypeAlias = "Callable[..., Backend]"
"""Builds a backend from the recipe and the model to use (None: the recipe's)."""

ENTRY_POINT_GROUP = "sarcgen.backends"
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class BackendSpec:
    """One backend, in one object: its name, how to build it and what options it takes.

    `factory`: a callable ``(recipe, model_spec) -> Backend``, or a "module:Name" string naming a
    class with ``from_recipe(recipe, model_spec)`` (or such a callable), imported when chosen.
    `options`: the pydantic model (a `BackendOptions`, or its "module:Name") of the backend's own
    recipe section `generate.<name>`; None when it takes none.
    `in_process`: the engine runs inside this process (so `executor: ray` can run a copy in each
    worker); False for a client of servers (openai).
    """

    name: str
    factory: str | BackendFactory
    options: type[BaseModel] | str | None = None
    description: str = ""
    in_process: bool = True

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise BackendError(f"backend name {self.name!r} is not a plain lower-case name",
                               "use letters, digits and _ (it is also the recipe section generate.<name>)")

    def options_model(self) -> type[BaseModel] | None:
        """The options model, imported if it was given as "module:Name"."""
        if not isinstance(self.options, str):
            return self.options
        found = load_target(self.options, self.name)
        if not _is_model(found):
            raise BackendError(f"backend {self.name!r}: {self.options} is not a BackendOptions model",
                               "subclass sarcgen.backends.options.BackendOptions")
        return found


def _is_model(found: object) -> TypeGuard[type[BaseModel]]:
    from pydantic import BaseModel

    return isinstance(found, type) and issubclass(found, BaseModel)


BUILTINS = (
    BackendSpec("llamacpp", "sarcgen.backends.llamacpp:LlamaCppBackend", "sarcgen.backends.options:LlamaCppOptions",
                "in-process llama.cpp on a local GGUF (the default)"),
    BackendSpec("openai", "sarcgen.backends.openai:OpenAIBackend", "sarcgen.backends.options:OpenAIOptions",
                "an OpenAI-compatible server, or a fleet of them", in_process=False),
    BackendSpec("fake", "sarcgen.backends.fake:FakeBackend", None, "canned replies, for tests"),
)

_BUILTIN = {spec.name: spec for spec in BUILTINS}
_registered: dict[str, BackendSpec] = {}  # by register_backend: wins over a builtin or plug-in of its name
_plugins: dict[str, BackendSpec] | None = None  # None: the entry points were not read yet


def load_target(target: str, what: str) -> Any:
    """The object a "module:Name" string names; a `BackendError` naming `what` when it cannot be imported."""
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise BackendError(f"backend {what!r} is not available ({exc})", "choose another with --backend") from None


def _discover() -> dict[str, BackendSpec]:
    """The `sarcgen.backends` entry points, each loaded into its BackendSpec (read once)."""
    global _plugins
    if _plugins is not None:
        return _plugins
    from importlib.metadata import entry_points

    found: dict[str, BackendSpec] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        where = f"backend plug-in {ep.name} = {ep.value} (entry point group {ENTRY_POINT_GROUP})"
        try:
            spec = ep.load()
        except Exception as exc:  # any failure of a third-party package's import, named in one line
            raise BackendError(f"{where} does not load: {type(exc).__name__}: {exc}",
                               "fix or uninstall the package that provides it") from None
        if not isinstance(spec, BackendSpec):
            raise BackendError(f"{where} gives a {type(spec).__name__}, not a BackendSpec",
                               "point the entry point at a sarcgen.backends.BackendSpec")
        if spec.name != ep.name or spec.name in _BUILTIN:
            raise BackendError(f"{where} registers the backend {spec.name!r}",
                               "name the entry point as its BackendSpec, and not as a builtin backend")
        found[spec.name] = spec
    _plugins = found
    return found


def clear_discovery() -> None:
    """Forget the plug-ins read from the entry points: the next question reads them again (tests)."""
    global _plugins
    _plugins = None


def specs() -> dict[str, BackendSpec]:
    """Every backend by name: the builtins first, then plug-ins; `register_backend` wins over both."""
    return {**_BUILTIN, **_discover(), **_registered}


def known_specs() -> dict[str, BackendSpec]:
    """The builtins and `register_backend`'s, without reading the entry points (a broken plug-in
    never stops a command that uses only these)."""
    return {**_BUILTIN, **_registered}


def names() -> list[str]:
    """The registered backend names, builtins first (what `generate.backend` and `--backend` accept)."""
    return list(specs())


def find(name: str) -> BackendSpec | None:
    """The spec registered as `name`, or None; reads the entry points only for a name that is not a builtin."""
    return _registered.get(name) or _BUILTIN.get(name) or _discover().get(name)


def get_spec(name: str) -> BackendSpec:
    """The spec registered as `name`; a `BackendError` listing the registered names when there is none."""
    spec = find(name)
    if spec is None:
        raise BackendError(f"unknown backend {name!r}", f"choose one of {', '.join(names())}")
    return spec


def register_backend(spec: BackendSpec | str, factory: str | BackendFactory | None = None) -> None:
    """Register a backend: ``register_backend(BackendSpec(...))``, or the older
    ``register_backend(name, factory)`` (a "module:Class" string or a callable ``(recipe, model_spec)``),
    which replaces only the factory of a backend already registered under that name."""
    if isinstance(spec, str):
        if factory is None:
            raise TypeError("register_backend(name, factory) needs the factory")
        old = find(spec)
        spec = replace(old, factory=factory) if old is not None else BackendSpec(spec, factory)
    if _BUILTIN.get(spec.name) == spec:  # a test putting a builtin's factory back
        unregister_backend(spec.name)
    else:
        _registered[spec.name] = spec


def unregister_backend(name: str) -> None:
    """Remove a backend registered with `register_backend` (a builtin of that name is itself again)."""
    _registered.pop(name, None)


class _Factories(MutableMapping[str, "str | BackendFactory"]):
    """`BACKENDS`: name -> factory, a live view of the registry. Setting an item replaces that
    backend's factory (tests swap the fake's replies this way); deleting one unregisters it."""

    def __getitem__(self, name: str) -> str | BackendFactory:
        spec = find(name)
        if spec is None:
            raise KeyError(name)
        return spec.factory

    def __setitem__(self, name: str, factory: str | BackendFactory) -> None:
        register_backend(name, factory)

    def __delitem__(self, name: str) -> None:
        if name not in _registered:
            raise KeyError(name)
        unregister_backend(name)

    def __iter__(self) -> Iterator[str]:
        return iter(names())

    def __len__(self) -> int:
        return len(specs())


BACKENDS: MutableMapping[str, str | BackendFactory] = _Factories()
