"""YAML for fact files: the YAML 1.2 core schema, no duplicate keys, no aliases, exact decimals.

PyYAML implements YAML 1.1, whose implicit types change what was written without a word: `035` is
octal 29, `1:30` is 90 (base 60), `yes`/`on` are true, a repeated key silently replaces the first,
and an alias bomb of a few hundred bytes expands to gigabytes. Fact files are read instead with the
YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#103-core-schema), on libyaml's parser:

- `true`/`false` (any of the three casings) are booleans; `yes`, `no`, `on`, `off`, `y`, `n` are text
- a decimal integer is read in base 10, leading zeros included (`035` is 35, as 1.2 says)
- `0x23`, `0o17` (1.2 core integers) are refused: no fact is written in hex or octal, so such a value
  is far more likely a mistake than a number; `0b101`, `1:30`, `1_000` are text (1.2), which the
  schema then refuses where a number is expected
- decimals are `Decimal` from their own text (`66.13` stays exactly 66.13), never via float
- dates stay text (`2025-03-04`), as months do; `<<` is an ordinary key (no merge)
- a key that appears twice in one mapping is an error naming both lines
- aliases (`*name`) are refused: a fact file never needs them, and refusing them at the first reuse
  makes any alias bomb a clear error after reading its text once
- explicit tags other than the core ones (`!!binary`, `!!timestamp`, `!!set`, ...) are refused, and a
  core tag takes only what YAML 1.2 writes for it: `!!int 1:30`, `!!int 1_000`, `!!float ٢١`,
  `!!bool yes`, `!!null x` are errors of their record, never a value that was not written (Python's
  own `int()` and `Decimal()` would take digit groups and non-ASCII digits, PyYAML's `!!bool` takes
  `yes` and `on`)
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, cast

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .json_parse import INT_DIGITS
from .limits import DIGITS_HELP, MAX_DIGITS, Limit, digits_limit, read_decimal
from .written import Part, Spelling

_CORE_RESOLVERS: list[tuple[str, str, str]] = [  # (tag, regex, first characters)
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
    ("tag:yaml.org,2002:int", r"^0o[0-7]+$|^0x[0-9a-fA-F]+$", "0"),
    (
        "tag:yaml.org,2002:float",
        r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$",
        "-+.0123456789",
    ),
]
_REFUSED_TAGS = ("binary", "timestamp", "omap", "pairs", "set")
# what each core tag takes, as YAML 1.2 writes it (an explicit tag skips the resolvers above)
_WRITTEN = {tag: re.compile(regex) for tag, regex, _first in _CORE_RESOLVERS if tag.endswith(("null", "bool"))}
_DECIMAL_INT = re.compile(r"[-+]?[0-9]+")  # ASCII digits: [0-9], not \d
_FLOAT = re.compile(_CORE_RESOLVERS[-1][1])


class FactYAMLError(ConstructorError):
    """A YAML construct that fact files refuse; `code` is the diagnostic code to report it under."""

    def __init__(self, code: str, problem: str, mark: Any, context: str | None = None, context_mark: Any = None,
                 help: str | None = None):
        super().__init__(context, context_mark, problem, mark)
        self.code = code
        self.help = help  # a limit's help, given with its message

    @classmethod
    def of_limit(cls, limit: Limit, mark: Any) -> FactYAMLError:
        return cls("facts/limit", limit.message, mark, help=limit.help)


class DuplicateKey(FactYAMLError):
    """A key set twice in one mapping. Its message names the line of the first, counted in the text
    the loader was given (one document of a file): `worded` counts it in the file."""

    def __init__(self, key: str, mark: Any, first: Any) -> None:
        self.key, self.first_line = key, first.line + 1
        super().__init__("facts/duplicate-key", self.worded(0), mark, f"`{key}` first set here", first)

    def worded(self, lines_before: int) -> str:
        """The message, with the first key's line counted after `lines_before` lines of the file."""
        return f"key `{self.key}` appears twice in one mapping (first on line {self.first_line + lines_before})"


def _int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(cast(ScalarNode, node)))
    body = text.lstrip("+-")
    if body[:2] in ("0x", "0o"):
        kind = "a hexadecimal" if body[1] == "x" else "an octal"
        problem = f"`{text}` is {kind} number; fact files take decimal numbers (quote it if it is text)"
        raise FactYAMLError("facts/number", problem, node.start_mark)
    if not _DECIMAL_INT.fullmatch(text):  # only an explicit `!!int` gets here with other text
        problem = f"`{text}` is tagged `!!int` but is not a whole number in decimal digits"
        raise FactYAMLError("facts/number", problem, node.start_mark)
    digits = body.lstrip("0")
    # as json_parse._json_int: an int over the fact limit is kept, and the limits refuse it at its
    # JSON path with the message JSON gets (`$.time[0].minutes: a number of more than 15 digits`),
    # the other problems of its bundle still found; only past Python's own limit on int() (4,300
    # digits) is it this document's error at its line. It was that at 16 digits: a YAML bundle and
    # the same bundle in JSON gave two error records (tests/test_input_routes.py)
    if len(digits) > INT_DIGITS:
        problem = f"a number with {len(digits)} digits; fact files allow at most {MAX_DIGITS}"
        raise FactYAMLError.of_limit(Limit(problem, DIGITS_HELP), node.start_mark)
    return int(text, 10)


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    """A YAML float as a Decimal, from the scalar's own text: `66.13` stays exactly 66.13."""
    text = str(loader.construct_scalar(cast(ScalarNode, node)))
    if not _FLOAT.fullmatch(text):  # only an explicit `!!float` gets here with other text
        problem = f"`{text}` is tagged `!!float` but is not a number as YAML 1.2 writes one"
        raise FactYAMLError("facts/number", problem, node.start_mark)
    negative = text.startswith("-")
    body = text.lstrip("+-")
    if body.lower() in (".inf", ".nan"):
        value = Decimal(body[1:])  # kept: validation names it
    else:
        try:
            value = read_decimal(body)
        except ValueError as exc:  # an exponent no Decimal holds: this document's error, as in JSON its line's
            raise FactYAMLError.of_limit(digits_limit(exc), node.start_mark) from None
    # copy_negate, not `-value`: that is an arithmetic operation, which makes `-0.0` the 0.0 JSON's
    # reader does not (the trace and facts hash then differed between a YAML and a JSON `-0.0`)
    return value.copy_negate() if negative else value


def _core_value(kind: str, values: dict[str, object]) -> Any:
    """The constructor of `!!bool` or `!!null`: only the texts YAML 1.2 reads as that."""
    written = _WRITTEN[f"tag:yaml.org,2002:{kind}"]

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> object:
        text = str(loader.construct_scalar(cast(ScalarNode, node)))
        if not written.fullmatch(text):
            problem = f"`{text}` is tagged `!!{kind}`, but YAML 1.2 reads only {_SPELLED[kind]} as that"
            raise FactYAMLError("facts/syntax", problem, node.start_mark)
        return values.get(text.lower())

    return construct


_SPELLED = {"bool": "`true` and `false`", "null": "`null`, `~` and nothing"}


@dataclass(frozen=True, slots=True)
class ItemError:
    """An item of a top-level list that cannot be constructed, and the `id` it shows (if any)."""

    error: yaml.YAMLError | RecursionError
    bundle_id: str | None


_ID = re.compile(r"[A-Za-z0-9_.:/@-]{1,100}")  # an id shown for an item that cannot be read (as yaml_records shows one)


def _shown_id(node: Node) -> str | None:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == "id" and isinstance(value, ScalarNode):
                return value.value if _ID.fullmatch(value.value) else None
    return None


def load_document(text: str) -> object:
    """One YAML document of a fact file, as `yaml.load(text, Loader=FactLoader)` reads it, except
    that a top-level list has each item constructed on its own: an item that cannot be (a duplicate
    key, an alias, a refused number or tag) is an `ItemError` in its place, and the other bundles
    of the list are read. (A syntax error still spoils the whole document: nothing is composed.)"""
    loader = FactLoader(text)
    try:
        node = loader.get_single_node()
        if isinstance(node, SequenceNode) and node.tag == "tag:yaml.org,2002:seq":
            return [loader.construct_item(item) for item in node.value]
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


class FactLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """libyaml's parser (about 8x faster than PyYAML's) with the fact-file rules above."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, re.Pattern[str]]]]] = {}
    yaml_constructors: ClassVar[dict[Any, Any]] = dict(yaml.SafeLoader.yaml_constructors)

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._earlier: set[Node] = set()

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # each node is constructed once; seeing one again means an alias refers to it (`_earlier`:
        # those of the items of a list constructed before this one, see `load_document`)
        if node in self.constructed_objects or node in self.recursive_objects or node in self._earlier:
            raise FactYAMLError(
                "facts/alias",
                "an alias refers to the anchor defined here; fact files do not allow aliases (`*name`)",
                node.start_mark,
            )
        data = super().construct_object(node, deep=deep)
        self._earlier.add(node)
        return data

    def construct_item(self, node: Node) -> object:
        """One item of a top-level list, or the `ItemError` that stands in its place."""
        try:
            return self.construct_document(node)
        except (yaml.YAMLError, RecursionError) as error:
            # what construct_document resets when it ends well, and the generators of the item left
            self.state_generators: list[Any] = []
            self.constructed_objects: dict[Node, Any] = {}
            self.recursive_objects: dict[Node, None] = {}
            self.deep_construct = False
            return ItemError(error, _shown_id(node))

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Hashable, Any]:
        if not isinstance(node, MappingNode):
            raise FactYAMLError("facts/syntax", f"expected a mapping, found {type(node).__name__}", node.start_mark)
        mapping: dict[Hashable, Any] = {}
        seen: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable) or isinstance(key, list | dict):
                raise FactYAMLError("facts/syntax", "a mapping key must be a plain value", key_node.start_mark)
            if key in seen:
                raise DuplicateKey(key_node.value, key_node.start_mark, seen[key])
            seen[key] = key_node.start_mark
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


for _tag, _regex, _first in _CORE_RESOLVERS:
    # "" is where PyYAML looks for the resolvers of an empty scalar (null)
    FactLoader.add_implicit_resolver(_tag, re.compile(_regex), [*_first, ""] if "~" in _first else list(_first))
FactLoader.add_constructor("tag:yaml.org,2002:int", _int)
FactLoader.add_constructor("tag:yaml.org,2002:float", _decimal)
FactLoader.add_constructor("tag:yaml.org,2002:bool", _core_value("bool", {"true": True, "false": False}))
FactLoader.add_constructor("tag:yaml.org,2002:null", _core_value("null", {}))
for _name in _REFUSED_TAGS:
    FactLoader.yaml_constructors.pop(f"tag:yaml.org,2002:{_name}", None)


def yaml_spelling(text: str) -> Spelling:
    """The spelling of the numbers of the YAML document `text`: each scalar as written (composed
    again, not constructed, only when asked). Here, not in written.py with `json_spelling`, so
    that reading JSON does not import PyYAML (~12 ms of every `batch` start)."""
    composed: list[Node | None] = []

    def spelled(parts: list[Part]) -> str | None:
        if not composed:
            loader = FactLoader(text)
            try:
                composed.append(loader.get_single_node())
            except yaml.YAMLError:  # (it was read before: never, but then nothing is known)
                composed.append(None)
            finally:
                loader.dispose()
        node = composed[0]
        for part in parts:
            if isinstance(node, MappingNode):
                node = next((item for key, item in node.value if _is_key(key, part)), None)
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
            else:
                return None
        return node.value if isinstance(node, ScalarNode) and not node.style else None  # (plain: libyaml says "")

    return spelled


def _is_key(node: Node, part: Part) -> bool:
    return isinstance(node, ScalarNode) and node.value == part
