"""The pollution rules as a user sees them: how often each fired on each source, what it is worth
there, how many crops it rejected, and the switch that turns it off for one source.

A rule that fires on a large share of one source is misreading that source's style; the
calibration (`curation.evidence`) already weighs it down there, and this is what the Overview
and `studio curate` show so a person can look at its examples and switch it off.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from curation.catalog.info import CatalogInfo, update_info
from curation.errors import CurationError
from curation.evidence import RuleStat
from curation.pollution import SIGNALS

ANY_DOMAIN = "*"
EXAMPLES = 6  # crops shown per rule and source


@dataclass(frozen=True)
class RuleUse:
    """A rule on one source: `RuleStat` plus the crops it rejected (it weighed most) and a few
    examples, rejected ones first (catalog sample filepaths)."""
    stat: RuleStat
    rejected: int
    examples: list[str] = field(default_factory=list)

    @property
    def line(self) -> str:
        s = self.stat
        where = "every source" if s.domain == ANY_DOMAIN else (s.domain or "unknown source")
        if s.off:
            return f"{s.rule} is off for {where} (fired on {s.fired} of {s.crops} crops)"
        text = f"{s.rule} fired on {s.fired} of {s.crops} crops from {where}, rejected {self.rejected}"
        if s.suspect:
            text += f"; it fires too often there to be trusted: weighed down to {s.probability:.2f}"
        return text


def rule_uses(dataset) -> list[RuleUse]:
    """Every rule that fired, per source, the most suspicious first (the largest share fired)."""
    from curation.scoring import unlabelled_evidence

    _, _, stats = unlabelled_evidence(dataset)
    domains, fps, reasons, *fired = dataset.values(
        ["domain", "filepath", "reasons", *SIGNALS])
    rejected: Counter = Counter()
    examples: dict[tuple[str, str], list[tuple[bool, str]]] = {}
    for k, d in enumerate(domains):
        for s, name in enumerate(SIGNALS):
            if not fired[s][k]:
                continue
            was_rejected = f"polluted:{name}" in (reasons[k] or [])
            rejected[(d or "", name)] += was_rejected
            examples.setdefault((d or "", name), []).append((not was_rejected, fps[k]))
    out = [RuleUse(st, rejected[(st.domain, st.rule)],
                   [fp for _, fp in sorted(examples.get((st.domain, st.rule), []))[:EXAMPLES]])
           for st in stats]
    return sorted(out, key=lambda u: (-u.stat.suspect, -u.stat.fired / max(u.stat.crops, 1)))


def set_rule(dataset, rule: str, domain: str = ANY_DOMAIN, on: bool = False) -> dict[str, list[str]]:
    """Switch `rule` off (or back on) for `domain` ("*": every source); the new switches.
    The caller rescores (`curation.rescoring.rescore_now`, or a `Rescorer`) for the decisions to follow."""
    if rule not in SIGNALS:
        raise CurationError(f"no rule {rule!r}: the rules are {', '.join(SIGNALS)}")
    switches = {d: list(r) for d, r in (CatalogInfo.load(dataset).rules_off or {}).items()}
    names = set(switches.get(domain, []))
    names = names - {rule} if on else names | {rule}
    if names:
        switches[domain] = sorted(names)
    else:
        switches.pop(domain, None)
    update_info(dataset, rules_off=switches or None)
    return switches


def rejections(dataset) -> Counter:
    """How many rejected crops each reason rejected (a crop counts once per reason)."""
    decisions, reasons = dataset.values(["decision", "reasons"])
    return Counter(r for d, rs in zip(decisions, reasons, strict=True) if d == "rejected"
                   for r in (rs or []))
