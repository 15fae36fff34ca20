"""The report's recommendations never contradict their numbers: every number in every sentence is read
back and compared, at the precision the sentence prints it, with the table cell it came from.

Each rule below recognises one phrase the recommendations use and checks its numbers against the cells
(``data-broker``, ``data-metric``, ``data-value``) of the experiment's comparisons, the routing table, the
figures the broker comparison compared, its pairwise tests and its scores. A number no rule accounts for
fails the test, so a new phrase with an unchecked figure cannot slip in. Differences must be the
differences of the figures quoted next to them (p99 a minus p99 b, not a figure from elsewhere).

Both parts of the run are checked, each against its own tables: the FX part against the report outside the
crypto section, the crypto part (one pair across three protocols) against the crypto section only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from demo_support import FinishedRun

from broker_integration import stats
from broker_integration.ab_testing import METRICS, Metric
from broker_integration.demo import read_figures
from broker_integration.demo.report_crypto import CRYPTO_PREFIX
from broker_integration.demo.run import MINIMUM_SAMPLE

NUM = r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:e[+-]?\d+)?"
P = rf"(?:< |<= |= ){NUM}"
NAME = r"[a-z][\w-]*"
UNIT = r"(?: ms| bps|%)?"
_NUMBER = re.compile(rf"(?<![\w.]){NUM}(?![\w])")
_CRYPTO_SECTION = re.compile(r'<section id="crypto">.*?</section>', re.S)
#: Each part: the recommendation lists' prefix and the HTML its figures are in.
PARTS = {
    "fx": ("", lambda html: _CRYPTO_SECTION.sub("", html)),
    "crypto": (CRYPTO_PREFIX, lambda html: "".join(_CRYPTO_SECTION.findall(html))),
}


class _Report(HTMLParser):
    """The figure cells of every table and the items of the two recommendation lists."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], float] = {}
        self.lists: dict[str, list[str]] = {}
        self._list: str | None = None
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "td" and "data-metric" in a and "data-value" in a:
            self.cells[(a["data-broker"], a["data-metric"])] = float(a["data-value"])
        if tag == "ul" and "data-list" in a:
            self._list = a["data-list"]
            self.lists[self._list] = []
        if tag == "li" and self._list is not None:
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self._item is not None and self._list is not None:
            self.lists[self._list].append("".join(self._item))
            self._item = None
        if tag == "ul":
            self._list = None

    def handle_data(self, data: str) -> None:
        if self._item is not None:
            self._item.append(data)


def _value(text: str) -> float:
    return float(text.replace(",", ""))


def agrees(text: str, expected: float, scale: float = 1.0) -> bool:
    """Whether ``text`` is ``expected * scale`` as printed: to its last decimal, or its two significant
    digits in scientific notation."""
    target = expected * scale
    value = _value(text)
    if "e" in text:
        mantissa = text.split("e")[0]
        digits = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return math.isclose(value, target, rel_tol=0.5 * 10**-digits + 1e-9)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(value - target) <= 0.5 * 10**-decimals + 1e-9 * abs(target)


def agrees_p(text: str, expected: float) -> bool:
    """A printed p-value: ``< x`` means below x, ``<= x`` at most x (as rounded), ``= x`` is x as printed."""
    op, number = text.split(" ", 1)
    if op == "<":
        return expected < _value(number)
    if op == "<=":
        return expected <= _value(number) or agrees(number, expected)
    return agrees(number, expected)


class _Shifted:
    """A match inside a substring, with spans moved to the whole sentence."""

    def __init__(self, match: re.Match[str], offset: int) -> None:
        self._m, self._offset = match, offset

    def group(self, name: str) -> str:
        return str(self._m.group(name))

    def span(self, name: str) -> tuple[int, int]:
        lo, hi = self._m.span(name)
        return lo + self._offset, hi + self._offset


Groups = re.Match[str] | _Shifted


@dataclass
class Sentence:
    """One recommendation, the cells it may quote, and the spans of its numbers checked so far."""

    text: str
    cells: dict[tuple[str, str], float]
    checked: list[tuple[int, int]] = field(default_factory=list)

    def cell(self, broker: str, metric: str) -> float:
        assert (broker, metric) in self.cells, f"no table cell {broker}/{metric} for: {self.text}"
        return self.cells[(broker, metric)]

    def check(self, m: Groups, group: str, expected: float, scale: float = 1.0) -> None:
        got = m.group(group)
        assert agrees(got, expected, scale), (
            f"{group} = {got}, the table says {expected * scale}: {self.text}"
        )
        self.checked.append(m.span(group))

    def check_p(self, m: Groups, group: str, expected: float) -> None:
        got = m.group(group)
        assert agrees_p(got, expected), f"p {got}, the table says {expected}: {self.text}"
        self.checked.append(m.span(group))

    def constant(self, m: Groups, group: str, value: float) -> None:
        assert _value(m.group(group)) == value, f"{group} = {m.group(group)}, not {value}: {self.text}"
        self.checked.append(m.span(group))

    def unchecked(self) -> list[str]:
        return [
            n.group()
            for n in _NUMBER.finditer(self.text)
            if not any(lo <= n.start() and n.end() <= hi for lo, hi in self.checked)
        ]


Rule = Callable[[Sentence], None]
_LABELS = {spec.label: metric for metric, spec in METRICS.items()}
_LABEL = "|".join(re.escape(label) for label in sorted(_LABELS, key=len, reverse=True))


def _scale(metric: Metric) -> float:
    return 100.0 if METRICS[metric].unit == "" else 1.0


def _ab_effects(s: Sentence) -> None:
    """``mean latency 5.20 ms on X vs 15.8 ms on C (-67.2%), 95% interval of the difference a to b``."""
    pattern = (
        rf"(?P<label>{_LABEL}) (?P<arm_value>{NUM}){UNIT} on (?P<arm>{NAME}) vs (?P<control_value>{NUM}){UNIT} "
        rf"on {NAME}(?: \((?P<relative>[+-]?{NUM})%\))?(?:, (?P<level>\d+)% interval of the difference "
        rf"(?P<low>{NUM}){UNIT} to (?P<high>{NUM}){UNIT})?"
    )
    for m in re.finditer(pattern, s.text):
        metric = _LABELS[m["label"]]
        arm, scale = m["arm"], _scale(metric)
        for group in ("arm_value", "control_value", "low", "high"):
            if m[group] is not None:
                s.check(m, group, s.cell(arm, f"{metric.value}.{group}"), scale)
        if m["relative"] is not None:
            s.check(m, "relative", s.cell(arm, f"{metric.value}.relative"), 100.0)
        if m["level"] is not None:
            s.constant(m, "level", 95)


def _ab_verdicts(s: Sentence) -> None:
    """The adjusted p-values and order counts of the winner, the control and breached guardrails."""
    primary = Metric.LATENCY_MS.value  # the demo's primary metric
    if m := re.match(
        rf"Prefer (?P<arm>{NAME}): .*adjusted p (?P<p>{P}) \((?P<n_arm>\d+) and (?P<n_control>\d+) ", s.text
    ):
        s.check_p(m, "p", s.cell(m["arm"], f"{primary}.p_holm"))
        s.check(m, "n_arm", s.cell(m["arm"], f"{primary}.n_arm"))
        s.check(m, "n_control", s.cell(m["arm"], f"{primary}.n_control"))
    if m := re.match(rf"Keep {NAME}: .*\(largest adjusted p (?P<p>{P})\)", s.text):
        worst = max(v for (_, k), v in s.cells.items() if k == f"{primary}.p_holm")
        s.check_p(m, "p", worst)
    if m := re.match(
        rf"Guardrail: (?P<label>{_LABEL}) .* — (?P<arm>{NAME}) is significantly worse \(adjusted p (?P<p>{P})\)",
        s.text,
    ):
        s.check_p(m, "p", s.cell(m["arm"], f"{_LABELS[m['label']].value}.p_holm"))
    if m := re.search(
        rf"No significant difference in (?P<label>{_LABEL}) between (?P<arm>{NAME}) and {NAME} after (?P<n>\d+) ",
        s.text,
    ):
        metric = _LABELS[m["label"]].value
        s.check(m, "n", min(s.cell(m["arm"], f"{metric}.n_arm"), s.cell(m["arm"], f"{metric}.n_control")))
        for bound in re.finditer(
            rf"outside (?P<low>{NUM}){UNIT} to (?P<high>{NUM}){UNIT} are ruled out at (?P<level>\d+)%", s.text
        ):
            scale = _scale(_LABELS[m["label"]])
            s.check(bound, "low", s.cell(m["arm"], f"{metric}.low"), scale)
            s.check(bound, "high", s.cell(m["arm"], f"{metric}.high"), scale)
            s.constant(bound, "level", 95)


def _ab_arms(s: Sentence) -> None:
    """Allocation, P(best), randomised orders, failovers and unknown outcomes: the routing table's."""
    for m in re.finditer(rf"(?P<arm>{NAME}) (?P<allocation>{NUM})% \(P\(best\) (?P<p_best>{NUM})\)", s.text):
        s.check(m, "allocation", s.cell(m["arm"], "allocation"), 100.0)
        s.check(m, "p_best", s.cell(m["arm"], "p_best"))
    if share := re.search(r"\(warm-up and uniform share: (?P<list>[^)]*)\)", s.text):
        for m in re.finditer(rf"(?P<arm>{NAME}) (?P<n>\d+)", share["list"]):
            s.check(_Shifted(m, share.start("list")), "n", s.cell(m["arm"], "randomised_orders"))
    if m := re.match(rf"(?P<n>\d+) orders? failed over from (?P<arm>{NAME})", s.text):
        s.check(m, "n", s.cell(m["arm"], "failovers_out"))
    if m := re.match(rf"(?P<n>\d+) orders? at (?P<arm>{NAME}) ended with an unknown outcome", s.text):
        s.check(m, "n", s.cell(m["arm"], "ambiguous"))
    if m := re.match(
        rf"(?P<arm>{NAME}): (?P<have>\d+) of (?P<min>\d+) observations .* \((?P<more>\d+) more", s.text
    ):
        s.constant(m, "min", MINIMUM_SAMPLE)
        s.constant(m, "more", MINIMUM_SAMPLE - int(m["have"]))
        s.checked.append(m.span("have"))  # the arm's count, checked through "more"


_LEAD = r"(?: is best| leads)?"


def _plan(s: Sentence) -> None:
    """The fixed-horizon plan: the primary comparison's control mean and sd, and the sample they imply."""
    pattern = (
        rf"To detect a (?P<mde>\d+)% change in (?P<label>{_LABEL}) \(control (?P<base>{NUM}){UNIT}, "
        rf"sd (?P<sd>{NUM}){UNIT}\) a fixed-horizon test needs about (?P<n>\d+) orders per arm at "
        rf"(?P<power>\d+)% power"
    )
    if m := re.match(pattern, s.text):
        metric = _LABELS[m["label"]].value
        arm = next(b for (b, k) in s.cells if k == f"{metric}.control_sd")
        base, sd = s.cell(arm, f"{metric}.control_value"), s.cell(arm, f"{metric}.control_sd")
        s.check(m, "base", base)
        s.check(m, "sd", sd)
        s.constant(m, "mde", 10)  # the demo's minimum detectable effect (the framework's default)
        s.constant(m, "power", 80)
        s.constant(m, "n", stats.sample_size_for_means(sd, 0.1 * abs(base)))


def _compared(s: Sentence) -> None:
    """Each broker's figures as the comparison's figures table has them."""
    for m in re.finditer(rf"(?P<v>{NAME}){_LEAD} \(?p50 (?P<p50>{NUM}) ms, p99 (?P<p99>{NUM}) ms", s.text):
        s.check(m, "p50", s.cell(m["v"], "cmp.p50_ms"))
        s.check(m, "p99", s.cell(m["v"], "cmp.p99_ms"))
    for m in re.finditer(rf"(?P<v>{NAME}){_LEAD} \(?(?P<rate>{NUM})% failed, (?P<f>\d+)/(?P<n>\d+)", s.text):
        s.check(m, "rate", s.cell(m["v"], "cmp.broker_error_rate"), 100.0)
        s.check(m, "f", s.cell(m["v"], "cmp.broker_failures"))
        s.check(m, "n", s.cell(m["v"], "cmp.calls"))
    for m in re.finditer(rf"(?P<v>{NAME}){_LEAD} \(?(?P<cost>{NUM}) bps(?=[);])", s.text):
        s.check(m, "cost", s.cell(m["v"], "cmp.avg_cost_bps"))
    for m in re.finditer(
        rf"(?P<v>{NAME}){_LEAD} \(?(?P<rate>{NUM})% filled in full, (?P<f>\d+)/(?P<n>\d+)", s.text
    ):
        s.check(m, "rate", s.cell(m["v"], "cmp.full_fill_rate"), 100.0)
        s.check(m, "f", s.cell(m["v"], "cmp.filled"))
        s.check(m, "n", s.cell(m["v"], "cmp.accepted"))
    availability = (
        rf"(?P<v>{NAME}) was healthy in (?P<share>{NUM})% of health checks \((?P<healthy>\d+)/(?P<checks>\d+)\), "
        rf"below (?P<threshold>\d+)%"
    )
    for m in re.finditer(availability, s.text):
        s.check(m, "share", s.cell(m["v"], "cmp.availability"), 100.0)
        s.check(m, "healthy", s.cell(m["v"], "cmp.healthy_checks"))
        s.check(m, "checks", s.cell(m["v"], "cmp.health_checks"))
        s.constant(m, "threshold", 99)


_TESTS = {
    "bootstrap": "bootstrap_quantile",
    "Welch's t-test": "welch_t",
    "two-proportion z-test": "two_proportion_z",
    "Fisher's exact test": "fisher_exact",
}
_DIMENSIONS = {"Latency": "latency", "Reliability": "reliability", "Cost": "cost", "Fill": "fill_quality"}


def _pair_cell(s: Sentence, a: str, b: str, key: str) -> tuple[float, bool]:
    """The pairwise test cell of ``key`` for brokers ``a`` and ``b`` (in either order); whether b came first."""
    if (f"{a}|{b}", key) in s.cells:
        return s.cells[(f"{a}|{b}", key)], False
    return s.cell(f"{b}|{a}", key), True


def _evidence(s: Sentence) -> None:
    """The best broker against its closest rival: the difference of their figures, its interval, the test."""
    head = re.match(r"(\w+)", s.text)
    dimension = _DIMENSIONS.get(head[1] if head else "")
    best, rival = (
        re.search(rf"(?P<b>{NAME}) is best", s.text),
        re.search(rf"Against the closest, (?P<r>{NAME})", s.text),
    )
    if dimension is None or best is None or rival is None:
        return
    a, b = best["b"], rival["r"]
    amount = (
        rf"(?P<d>{NUM})(?P<unit> ms| bps| points) (?:higher|lower|more|less)(?: often)? \((?:(?P<level>\d+)% CI "
        rf"(?P<low>{NUM}) to (?P<high>{NUM})(?: ms| bps| points)? before correction; )?(?P<test>[^,]+), "
        rf"Holm-adjusted p (?P<p>{P})\)"
    )
    for m in re.finditer(amount, s.text):
        assert m["test"] in _TESTS, f"an unknown test {m['test']!r} in: {s.text}"
        key = f"{dimension}.{_TESTS[m['test']]}"
        scale = 100.0 if m["unit"] == " points" else 1.0
        value_a, flipped = _pair_cell(s, a, b, f"{key}.value_a")
        value_b, _ = _pair_cell(s, a, b, f"{key}.value_b")
        # the tests report B - A; the sentence says rival - best, turned positive with its direction word
        rival_minus_best = value_a - value_b if flipped else value_b - value_a
        s.check(m, "d", abs(rival_minus_best), scale)  # the difference of the two figures quoted
        if m["level"] is not None:
            low, _ = _pair_cell(s, a, b, f"{key}.low")
            high, _ = _pair_cell(s, a, b, f"{key}.high")
            interval = (-high, -low) if flipped else (low, high)
            if rival_minus_best < 0:
                interval = (-interval[1], -interval[0])
            s.check(m, "low", interval[0], scale)
            s.check(m, "high", interval[1], scale)
            s.constant(m, "level", 95)
        s.check_p(m, "p", _pair_cell(s, a, b, f"{key}.p_holm")[0])
    mwu = rf"(?:slower than at {NAME} |faster |slower )(?P<e>{NUM})% of the time(?:, not significantly)? \(Mann-Whitney, Holm-adjusted p (?P<p>{P})\)"
    for m in re.finditer(mwu, s.text):
        effect, flipped = _pair_cell(s, a, b, "latency.mann_whitney_u.effect")
        slower = effect if not flipped else 1.0 - effect  # P(a call at the rival is slower)
        shown = 1.0 - slower if "faster" in m.group() else slower
        s.check(m, "e", shown, 100.0)
        s.check_p(m, "p", _pair_cell(s, a, b, "latency.mann_whitney_u.p_holm")[0])


def _p_values(s: Sentence) -> None:
    """``Holm-adjusted p <= x for each`` and ``smallest Holm-adjusted p``: some test of the dimension."""
    head = re.match(r"(\w+)", s.text)
    dimension = _DIMENSIONS.get(head[1] if head else "")
    if dimension is None:
        return
    mine = [v for (_, k), v in s.cells.items() if k.startswith(f"{dimension}.") and k.endswith(".p_holm")]
    for m in re.finditer(rf"(?<!\w)\(Holm-adjusted p (?P<p>{P})(?: for each)?\)", s.text):
        if not any(lo <= m.start("p") and m.end("p") <= hi for lo, hi in s.checked):
            op, number = m["p"].split(" ", 1)
            # "<= x for each" is the largest of them: one of the dimension's p-values is x as printed
            matches = (agrees_p(m["p"], v) if op == "<" else agrees(number, v) for v in mine)
            assert any(matches), f"p {m['p']} is no test's p-value: {s.text}"
            s.checked.append(m.span("p"))
    if m := re.search(rf"smallest Holm-adjusted p (?P<p>{P})", s.text):
        s.check_p(m, "p", min(mine))


def _too_little(s: Sentence) -> None:
    pattern = rf"Too little data for (?P<v>{NAME}) in (?P<period>\S+): (?P<n>\d+) calls \(at least (?P<min>\d+) needed\)"
    for m in re.finditer(pattern, s.text):
        s.checked.append(m.span("period"))  # the period's name or its start/end times, not a figure
        s.check(m, "n", s.cell(m["v"], "cmp.calls"))
        s.constant(m, "min", 30)  # the comparison's default min_calls, which the demo keeps


def _not_compared(s: Sentence) -> None:
    if m := re.search(r"not compared: no operation has at least (?P<min>\d+) calls at every broker", s.text):
        s.constant(m, "min", 30)  # the comparison's default min_calls, which the demo keeps


def _overall(s: Sentence) -> None:
    if m := re.search(rf"scores out of (?P<hundred>100): (?P<list>{NAME} \d+(?:, {NAME} \d+)*)", s.text):
        s.constant(m, "hundred", 100)
        for score in re.finditer(rf"(?P<v>{NAME}) (?P<n>\d+)", m["list"]):
            s.check(_Shifted(score, m.start("list")), "n", s.cell(score["v"], "score"))
    for m in re.finditer(rf"alpha (?P<alpha>{NUM})", s.text):
        s.constant(m, "alpha", 0.05)
    # a trade-off names the weight of the dimensions each broker wins: their weights in the scores table
    for m in re.finditer(rf"\bon (?P<dims>[a-z_, ]+) \(weight (?P<w>{NUM})\)", s.text):
        s.check(m, "w", sum(s.cell("weights", d) for d in m["dims"].split(", ")))


def _deference(s: Sentence) -> None:
    if m := re.search(
        rf"names (?P<arm>{NAME}) on (?P<label>{_LABEL}) \(Holm-adjusted p (?P<p>{P})\)", s.text
    ):
        s.check_p(m, "p", s.cell(m["arm"], f"{_LABELS[m['label']].value}.p_holm"))


RULES: tuple[Rule, ...] = (
    _not_compared,
    _ab_effects,
    _ab_verdicts,
    _ab_arms,
    _plan,
    _compared,
    _evidence,
    _p_values,
    _too_little,
    _overall,
    _deference,
)


def _part(demo_run: FinishedRun, part: str) -> _Report:
    """The tables and recommendation lists of one part of the report."""
    _, html_of = PARTS[part]
    report = _Report()
    report.feed(html_of(demo_run.report.read_text(encoding="utf-8")))
    return report


@pytest.fixture(scope="module", params=sorted(PARTS))
def sentences(demo_run: FinishedRun, request: pytest.FixtureRequest) -> list[Sentence]:
    prefix, _ = PARTS[request.param]
    report = _part(demo_run, request.param)
    return [
        Sentence(text, report.cells)
        for name in ("ab-recommendations", "comparison-recommendations")
        for text in report.lists[prefix + name]
    ]


def test_every_number_in_every_recommendation_is_the_number_in_its_table(sentences: list[Sentence]) -> None:
    assert len(sentences) >= 6
    for s in sentences:
        for rule in RULES:
            rule(s)
        assert s.unchecked() == [], f"numbers no table accounts for {s.unchecked()} in: {s.text}"


@pytest.mark.parametrize("part", sorted(PARTS))
def test_one_comparison_sentence_per_dimension_and_the_experiment_first(
    demo_run: FinishedRun, part: str
) -> None:
    prefix, _ = PARTS[part]
    notes = _part(demo_run, part).lists[prefix + "comparison-recommendations"]
    assert notes[0].startswith("The A/B test")  # the randomised verdict stands first
    heads = [n.split(" ")[0] for n in notes[1:]]
    assert heads == ["Latency", "Reliability", "Cost", "Fill", "Overall"]
    assert "observational" in notes[-1]
    figures = read_figures(demo_run.report.read_text(encoding="utf-8"))
    if part == "crypto":
        figures = figures["crypto"]
    assert figures["comparison"]["observational"] is True
    assert len(figures["comparison"]["tests"]) > len(notes)  # the pairwise detail is in the figures


def test_a_latency_preference_never_goes_to_a_venue_with_a_worse_tail(demo_run: FinishedRun) -> None:
    comparison = demo_run.result.comparison
    for verdict in comparison.verdicts_on("latency"):
        tail = verdict.test("bootstrap_quantile")
        assert tail is not None
        if verdict.better is not None and tail.better is not None:
            assert verdict.better == tail.better
    latency = next(r for r in comparison.recommendations if r.startswith("Latency"))
    preferred = re.search(rf"Prefer (?P<v>{NAME}(?:, {NAME})*(?: or {NAME})?) for latency", latency)
    if preferred:
        for venue in re.split(r", | or ", preferred["v"]):
            p99 = comparison.metrics[venue].operations["place_order"].latency.p99_ms
            significantly_lower = [
                v.other(venue)
                for v in comparison.verdicts_on("latency")
                if v.involves(venue)
                and (t := v.test("bootstrap_quantile")) is not None
                and t.better not in (None, venue)
            ]
            assert significantly_lower == [], f"{venue} (p99 {p99}) has a significantly worse tail"


def test_the_flaky_venues_cancelled_probes_are_not_its_errors(demo_run: FinishedRun) -> None:
    for venue, metrics in demo_run.result.comparison.metrics.items():
        assert "CANCELLED" not in metrics.reliability.errors_by_code, venue
    assert demo_run.result.comparison.metrics["oanda"].reliability.failures == 0
