"""Records of a batch output that `carepolicy report` has counted already (a file concatenated twice,
a run appended to its own output), and bundle-months decided more than once.

A decision is the same decision as one counted before when it has the same `bundle_id`,
`decision_id`, policy set and month (the id alone stands for the others unless a line was edited:
it is derived from the engine version, the policies, the facts, which hold the bundle id, the
switches and the fee schedule; docs/reference/decision-format.md); an error record, when its whole
line is the same. Such a repeat is counted once, so a billing total never holds the
same decision twice, and the report says how many there were and names the first few.

A bundle id and month decided again with another `decision_id` (other facts, policies or switches)
is a decision of its own and counted, but said: two decisions for one patient-month may both be
billed.

What is kept per decision is two 16-byte digests (the record's, its bundle-month's), not the
record, each in a DigestSet (digest_set.py): 24-48 bytes a digest, where a set of `bytes` takes
about 91.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from hashlib import blake2b

from ..printable import shortened_id
from .digest_set import DigestSet

SHOWN = 5  # the ids named; the rest are counted


def _digest(*parts: str) -> bytes:
    # (a NUL between the parts: no two different pairs join to the same text)
    return blake2b("\x00".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass
class Repeats:
    """What has been counted, and what was not counted again."""

    repeated: int = 0  # records not counted: each the same as one counted before
    repeated_ids: list[str] = field(default_factory=list)  # the first SHOWN of their ids, each once
    redecided: int = 0  # decisions counted although their bundle id and month were decided before
    redecided_ids: list[str] = field(default_factory=list)
    repeated_distinct: int = 0  # how many ids the repeats have (one repeated thrice is one)
    redecided_distinct: int = 0
    _named_repeats: set[bytes] = field(default_factory=set, repr=False)  # (few: only the repeated ids)
    _named_redecided: set[bytes] = field(default_factory=set, repr=False)
    _records: DigestSet = field(default_factory=DigestSet, repr=False)
    _bundle_months: DigestSet = field(default_factory=DigestSet, repr=False)

    def decision_seen(self, bundle_id: str | None, decision_id: str | None, policy_set: str, month: str,
                      line: str) -> bool:
        """True when this decision was counted before (it is then not counted again). A decision
        without a `decision_id` (made by hand) is the same only when its whole line is; the policy
        set is compared too, which a `decision_id` already stands for unless the line was edited."""
        key = (_digest("d", str(bundle_id), decision_id, policy_set, month) if decision_id is not None
               else _digest("l", line.rstrip("\n")))
        if self._seen(key, bundle_id):
            return True
        if bundle_id is not None and not self._bundle_months.add(_digest(bundle_id, month)):  # (held from now on)
            self.redecided += 1
            if _note(self.redecided_ids, self._named_redecided, bundle_id):
                self.redecided_distinct += 1
        return False

    def error_seen(self, bundle_id: str | None, line: str) -> bool:
        """True when this error record (its whole line) was counted before."""
        return self._seen(_digest("e", line.rstrip("\n")), bundle_id)

    def _seen(self, key: bytes, bundle_id: str | None) -> bool:
        if self._records.add(key):
            return False
        self.repeated += 1
        if _note(self.repeated_ids, self._named_repeats, "(whole file)" if bundle_id is None else bundle_id):
            self.repeated_distinct += 1
        return True

    def to_json_obj(self) -> dict[str, object]:
        return {
            "repeated_records": self.repeated,
            "repeated_ids": {"count": self.repeated_distinct, "first": list(self.repeated_ids)},
            "decided_again": self.redecided,
            "decided_again_ids": {"count": self.redecided_distinct, "first": list(self.redecided_ids)},
        }

    def warnings(self) -> list[str]:
        """What the text and HTML reports say first, when there is anything to say."""
        said = []
        if self.repeated:
            said.append(
                f"{self.repeated:,} {'record repeats' if self.repeated == 1 else 'records repeat'} a record already "
                f"counted (the same bundle_id and decision_id, or the same error record: an output concatenated "
                f"twice?) and {'is' if self.repeated == 1 else 'are'} not counted again; "
                f"{_named(self.repeated_ids, self.repeated_distinct)}"
            )
        if self.redecided:
            said.append(
                f"{self.redecided:,} {'decision is' if self.redecided == 1 else 'decisions are'} of a bundle id and "
                f"month decided before with another result (another decision_id or policy set: other facts, "
                f"policies or switches), each counted, so both may be billed; "
                f"{_named(self.redecided_ids, self.redecided_distinct)}"
            )
        return said


def _note(ids: list[str], named: set[bytes], bundle_id: str) -> bool:
    """Keep `bundle_id` among the first SHOWN; True when it was not named before."""
    key = _digest(bundle_id)
    if key in named:
        return False
    named.add(key)
    if len(ids) < SHOWN:
        ids.append(bundle_id)
    return True


def _named(ids: list[str], count: int) -> str:
    shown = ", ".join(map(shortened_id, ids))  # (the JSON form names them whole)
    more = f" and {count - len(ids):,} more" if count > len(ids) else ""
    return f"{'id' if count == 1 else f'{count:,} ids'}: {shown}{more}"
