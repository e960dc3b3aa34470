"""The public API: load and check a policy set, then evaluate bundles against it.

    policies = load_policies()                   # the shipped policies, checked and compiled
    for item in load_fact_file("bundles.yaml"):  # Bundle or BundleError, one per input record
        decision = evaluate(policies, item)
        print(to_json(decision))

Nothing here prints, exits or reads the environment; the CLI decides all of that.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .check import CheckResult, check
from .compile.policy_set import DEFAULT_BACKEND, CompiledPolicySet
from .decision.model import Decision
from .diagnostics import Diagnostic, PolicyError, sort_diagnostics
from .evaluation.coding import SwitchSettings, decide, decision_digest
from .evaluation.fee_schedule import load_fee_schedule as load_fee_schedule  # public here, as before
from .evaluation.pricing import FeeSchedule
from .facts.reader import Bundle, BundleError
from .facts.schema import fact_types
from .language import syntax as s
from .language.parse import parse_partial
from .language.recovery import declared_names
from .language.registry import Registry, parse_registry
from .policy_folder import decode_policy_text as decode_policy_text  # public here, as before
from .policy_folder import look_alikes, undecodable_texts
from .policy_folder import policy_files as policy_files
from .policy_folder import read_policy_files as read_policy_files
from .policy_folder import read_policy_texts as read_policy_texts
from .policy_folder import read_registry_text as read_registry_text
from .source import SourceFile

_SETTINGS_LIMIT = 1024  # distinct switch settings remembered per policy set


@functools.cache
def engine_version() -> str:
    """The installed version (read once: importlib.metadata parses files on every call).

    importlib.metadata is imported here, not with the module: it costs ~17 ms of CPU, and only
    commands that decide (or report the version) need it."""
    from importlib import metadata

    try:
        return metadata.version("carepolicy")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


@dataclass(frozen=True, slots=True)
class PolicySet:
    """A checked, compiled policy set, ready to evaluate any number of bundles."""

    root: str
    sources: Mapping[str, SourceFile]
    checked: CheckResult
    compiled: CompiledPolicySet
    policy_hash: str
    # resolved switch settings by their overrides (sorted items): checked once, not per bundle
    settings_cache: dict[tuple[tuple[str, str], ...], SwitchSettings] = field(
        default_factory=dict, compare=False, repr=False
    )
    # the switches last evaluated with (a copy) and their settings: a batch passes the same ones
    # for every bundle, and comparing them is cheaper than sorting them (see `evaluate`)
    last_settings: list[tuple[dict[str, str], SwitchSettings]] = field(
        default_factory=list, compare=False, repr=False
    )

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return self.checked.warnings

    def switch_options(self) -> dict[str, tuple[str, ...]]:
        return {name: sw.options for name, sw in self.checked.index.switches.items()}


def check_policies(
    directory: str | Path | None = None,
) -> tuple[CheckResult | None, Mapping[str, SourceFile], tuple[Diagnostic, ...]]:
    """Parse and check; returns every diagnostic (parse errors of all files, then check results).

    The sources returned are the policy files and, when there is one, the reference registry.
    """
    _root, texts, unreadable = read_policy_files(directory)
    if not texts and not unreadable:  # bad input, like a missing folder: nothing to check
        raise PolicyError([Diagnostic("policy/empty", f"no .policy files under `{directory}`")])
    loose = undecodable_texts(directory, unreadable)
    declared = None if loose is None else frozenset().union(*map(declared_names, loose))
    result, sources, diagnostics = check_texts(
        texts, read_registry_text(directory), unreadable=unreadable, declared_unread=declared
    )
    not_read = look_alikes(directory)
    return result, sources, sort_diagnostics([*diagnostics, *not_read]) if not_read else diagnostics


def check_texts(
    texts: Iterable[tuple[str, str]],
    registry_text: tuple[str, str] | None = None,
    *,
    unreadable: Iterable[Diagnostic] = (),
    declared_unread: frozenset[str] | None = None,
) -> tuple[CheckResult | None, Mapping[str, SourceFile], tuple[Diagnostic, ...]]:
    """`check_policies` over texts held in memory: (file name, text) pairs and the registry's.

    For callers whose texts are not (yet) on disk, like an editor's unsaved buffers. `unreadable`
    are the problems of files that could not be read; they are reported with the rest.
    `declared_unread`: what those files declare, read loosely (None: not known).
    """
    texts = list(texts)
    sources = {name: SourceFile(name, text) for name, text in texts}
    parsed: list[s.PolicyFile] = []
    problems: list[Diagnostic] = list(unreadable)
    skipped: set[str] = set()  # names declared where a syntax error was: their absence is no news
    # A file not read (not UTF-8, no permission) leaves out what it declares: one Latin-1 byte in
    # pcm.policy gave 31 errors in four other files ("unknown program `pcm`"), the cause itself
    # sorted last. Its names, read loosely, are no news when unknown elsewhere; a file whose names
    # are not known (not read at all, or an editor's) may have declared any name.
    any_name_left_out = declared_unread is None and any(d.code in _WHOLE_FILE_LEFT_OUT for d in problems)
    skipped |= declared_unread or frozenset()
    for name, text in texts:
        policy, found, blanked = parse_partial(text, name)
        problems.extend(found)
        skipped |= blanked
        if policy is not None:
            parsed.append(policy)
    registry: Registry | None = None
    if registry_text is not None:
        name, text = registry_text
        sources[name] = SourceFile(name, text)
        registry, malformed = parse_registry(name, text)
        if malformed:  # like a syntax error: nothing is checked against a broken registry
            return None, sources, tuple(problems + malformed)
    if not parsed:
        return None, sources, tuple(problems)
    result = check(tuple(parsed), fact_types(), registry=registry)
    if not problems:
        return result, sources, result.diagnostics
    # Some files did not parse (or not wholly): the rest is still checked, leaving out what only
    # repeats a syntax error: a name of a skipped declaration is unknown, a definition unused.
    follow_on = [d for d in result.diagnostics if not _repeats_syntax_error(d, skipped, any_name_left_out)]
    return None, sources, sort_diagnostics([*problems, *follow_on])


_UNKNOWN_REFERENCE_CODES = frozenset(
    {"check/unknown-name", "check/unknown-code", "check/unknown-source", "check/unknown-fact", "check/template"}
)  # check/template: "`pcm` is not a program" when the file that declared it was left out


_WHOLE_FILE_LEFT_OUT = frozenset({"policy/unreadable", "policy/not-utf8"})


def _repeats_syntax_error(diagnostic: Diagnostic, skipped: set[str], any_name: bool = False) -> bool:
    # check/year-incomplete: the years are read from what parsed; a value line skipped for a syntax
    # error, or an impossible date read as the nearest real one (`2026-13-01`), moved them, and the
    # warning named every place of the year procedure beside a one-character mistake
    if diagnostic.code in ("check/unused", "check/year-incomplete"):
        return True
    if diagnostic.code not in _UNKNOWN_REFERENCE_CODES:
        return False
    return any_name or any(f"`{name}`" in diagnostic.message for name in skipped)


def load_policies(directory: str | Path | None = None, *, backend: str = DEFAULT_BACKEND) -> PolicySet:
    """Load, check and compile a policy set; raises PolicyError if `check` finds errors.

    `backend` chooses how expressions are compiled: `codegen` (generated functions, the default)
    or `closures`; decisions are the same with either.
    """
    root, texts = read_policy_texts(directory)
    checked, sources, diagnostics = check_policies(directory)
    errors = [d for d in diagnostics if d.is_error]
    if checked is None or errors:
        raise PolicyError(errors or diagnostics)
    digest = hashlib.sha256()
    for name, text in texts:
        digest.update(Path(name).name.encode() + b"\0" + text.encode() + b"\0")
    policy_hash = digest.hexdigest()[:32]
    compiled = CompiledPolicySet.build(checked, sources, policy_hash, backend=backend)
    return PolicySet(root, sources, checked, compiled, policy_hash)


def resolve_switches(policies: PolicySet, overrides: Mapping[str, str]) -> dict[str, str]:
    """The switch settings for an evaluation: defaults, then overrides (each checked)."""
    _check_switch_types(overrides)
    options = policies.switch_options()
    settings = dict(policies.compiled.switch_defaults)
    problems = []
    for name, value in sorted(overrides.items()):
        if name not in options:
            from .diagnostics import did_you_mean

            problems.append(Diagnostic("usage/switch", f"unknown switch `{name}`", help=did_you_mean(name, options)))
        elif value not in options[name]:
            problems.append(
                Diagnostic(
                    "usage/switch",
                    f"`{value}` is not an option of switch `{name}`",
                    help=f"options: {', '.join(options[name])}",
                )
            )
        else:
            settings[name] = value
    if problems:
        raise PolicyError(problems)
    return settings


def _check_switch_types(overrides: Mapping[Any, Any]) -> None:
    """Switches are named by text: a name of another type (from a caller's dict, not the CLI) is a
    usage error like an unknown name, not a TypeError from sorting names of mixed types. (An option
    of another type is `not an option of switch ...`, said below.)"""
    problems = [
        Diagnostic("usage/switch", f"a switch is named by text, not `{name!r}`", help="switches={\"name\": \"option\"}")
        for name in overrides
        if not isinstance(name, str)
    ]
    if problems:
        raise PolicyError(problems)


def evaluate(
    policies: PolicySet,
    bundle: Bundle,
    *,
    switches: Mapping[str, str] | None = None,
    fee_schedule: FeeSchedule | None = None,
    trace: bool = True,
) -> Decision:
    """Decide one validated bundle. Raises nothing for a valid bundle: denials are answers."""
    settings = _settings(policies, switches)
    return decide(
        policies.compiled,
        bundle.data,
        bundle_id=bundle.id,
        month=bundle.month,
        facts_hash=bundle.facts_hash,
        switches=settings,
        fee_schedule=fee_schedule,
        trace=trace,
        version=engine_version(),
        notes=bundle.notes,  # (given to the constructor: dataclasses.replace would build it twice)
    )


def decision_id(
    policies: PolicySet,
    bundle: Bundle,
    *,
    switches: Mapping[str, str] | None = None,
    fee_schedule: FeeSchedule | None = None,
) -> str:
    """The `decision_id` that `evaluate` gives `bundle` with these settings, without deciding it:
    what `batch --resume` checks each line already written against."""
    settings = _settings(policies, switches)
    return decision_digest(engine_version(), policies.policy_hash, bundle.facts_hash, settings.text, fee_schedule)


def _settings(policies: PolicySet, switches: Mapping[str, str] | None) -> SwitchSettings:
    """The resolved settings of these switch overrides, checked once per distinct overrides."""
    overrides = switches or {}
    last = policies.last_settings[0] if policies.last_settings else None
    if last is not None and last[0] == overrides:  # the usual case: the same switches as the bundle before
        return last[1]
    _check_switch_types(overrides)  # (before sorting: names of mixed types cannot be)
    key = tuple(sorted(overrides.items()))
    try:
        settings = policies.settings_cache.get(key)
    except TypeError:  # an option that is no text and cannot be a key (a list read from an edited JSON decision)
        return SwitchSettings.of(resolve_switches(policies, overrides))  # raises, saying which option is wrong
    if settings is None:
        settings = SwitchSettings.of(resolve_switches(policies, overrides))  # raises on a bad switch
        if len(policies.settings_cache) < _SETTINGS_LIMIT:
            policies.settings_cache[key] = settings
    policies.last_settings[:] = [(dict(overrides), settings)]  # (one entry, replaced whole)
    return settings


def evaluate_all(
    policies: PolicySet, items: Iterable[Bundle | BundleError], **options: object
) -> Iterator[Decision | BundleError]:
    """Exactly one output per input: a Decision, or the BundleError that explains why there is none."""
    for item in items:
        yield item if isinstance(item, BundleError) else evaluate(policies, item, **options)  # type: ignore[arg-type]
