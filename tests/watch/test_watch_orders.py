"""Watch rules and the calendar in the standing orders: every mistake refused at load, all at
once, each at its file:line:col; what compiles is grouped for evaluation."""

from __future__ import annotations

from datetime import datetime

import pytest

from watchkeeper.errors import OrdersError
from watchkeeper.orders.loader import PROFILES, builtin_text, load_text
from watchkeeper.orders.model import Calendar
from watchkeeper.orders.watch import WINDOW_FIELDS, window_reads

BASE = """\
environments:
  prod: {default: ask}
channels:
  oncall: {type: log}
"""


def refused(text: str) -> list[str]:
    with pytest.raises(OrdersError) as caught:
        load_text(BASE + text, "w.yaml")
    return [f"{i.line}:{i.col}: {i.message}" for i in caught.value.issues]


def test_every_mistake_is_reported_at_once_where_it_is_written() -> None:
    found = refused(
        """\
watch:
  - name: a
    when: "event.decisoin == 'deny' && window.cnt > 2"
    notify: [oncal]
  - name: b
    on: vote
    scope: tool
    tighten: tool
    when: "event.vote == 'approve'"
  - name: a
    when: "window.count = 3"
  - name: c
    scope: approver
    tighten: tool
    when: "true"
calendar: {timezone: Mars/Olympus, hours: "18:00-18:00", holidays: [2026-13-40]}
"""
    )
    text = "\n".join(found)
    assert "7:18: event has no field 'decisoin'; did you mean 'decision'?" in text
    assert "7:47: window has no field 'cnt'; did you mean 'count'?" in text
    assert "8:14: unknown channel 'oncal'; did you mean 'oncall'?" in text
    assert "11:12: scope: tool counts what vote events do not carry" in text
    assert "12:14: tighten: tool names what vote events do not carry" in text
    assert "duplicate watch rule name 'a'" in text
    assert "watch condition does not compile" in text
    assert "a single = is not an operator" in text
    assert "17:12: scope: approver counts what action events do not carry" in text
    assert "18:14: tighten: tool names what action events do not carry" not in text  # tool: ok
    assert "unknown time zone 'Mars/Olympus'" in text
    assert "hours '18:00-18:00' is not a span of the day" in text
    assert "2026-13-40" in text
    assert len(found) >= 11


def test_tightening_an_approver_needs_votes() -> None:
    found = refused('watch:\n  - {name: x, tighten: approver, when: "true"}\n')
    assert any("tighten: approver names what action events do not carry" in f for f in found)


def test_a_condition_must_be_true_or_false() -> None:
    found = refused('watch:\n  - {name: x, when: "1 + 2"}\n')
    assert any("a condition must be true or false" in f for f in found)


def test_rules_are_grouped_by_what_they_see_over_which_window() -> None:
    orders = load_text(
        BASE
        + """\
watch:
  - {name: a, scope: session, window: 15m, when: "window.denied > 1"}
  - {name: b, scope: session, window: 15m, when: "window.similar_denied >= 2"}
  - {name: c, scope: agent, window: 10m, when: "window.irreversible > 5", cooldown: 1h}
  - {name: d, on: [vote], scope: approver, when: "window.review_median < 30.0"}
"""
    )
    plan = orders.watching
    assert plan is not None
    actions = plan.for_event("action")
    assert [(g.scope, g.window, [r.name for r in g.rules]) for g in actions] == [
        ("session", 900, ["a", "b"]),
        ("agent", 600, ["c"]),
    ]
    assert actions[0].reads == {"denied", "similar_denied"}
    assert [r.name for g in plan.for_event("vote") for r in g.rules] == ["d"]
    assert plan.for_event("escalation") == ()
    assert plan.horizon == 3600  # the longest window or cool-down
    assert orders.watch[2].cooldown == 3600
    assert orders.watch[0].cooldown == 900


def test_reading_window_whole_works_out_every_field() -> None:
    assert window_reads("size(window) > 0") == frozenset(WINDOW_FIELDS)
    assert window_reads("window.count > 1 && window . tags.egress > 0") == {"count", "tags"}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_carries_the_watch_pack(profile: str) -> None:
    orders = load_text(builtin_text(PROFILES[profile]), f"<builtin>/{profile}")
    names = {r.name for r in orders.watch}
    assert names == {
        "rephrased-after-denial",
        "rephrased-across-sessions",
        "damage-reported",
        "destructive-burst",
        "credential-read-then-egress",
        "production-change-off-hours",
        "approval-fatigue",
        "escalation-unopened",
    }
    assert orders.calendar == Calendar()


def test_the_calendar_places_a_moment_in_its_zone() -> None:
    orders = load_text(
        BASE + 'calendar: {timezone: Europe/Berlin, days: [mon, tue], hours: "22:00-06:00",'
        " holidays: [2026-01-06]}\n"
    )
    cal = orders.calendar

    def at(text: str) -> dict[str, object]:
        return cal.clock(datetime.fromisoformat(text).timestamp())

    # 21:30 UTC on Monday 5 January is 22:30 in Berlin: inside a span that crosses midnight.
    assert at("2026-01-05T21:30:00+00:00")["business_hours"] is True
    assert at("2026-01-05T21:30:00+00:00")["weekday"] == "mon"
    assert at("2026-01-05T12:00:00+00:00")["business_hours"] is False
    assert at("2026-01-05T23:30:00+00:00")["hour"] == 0  # 00:30 on Tuesday in Berlin
    assert at("2026-01-05T23:30:00+00:00")["business_hours"] is False  # Tuesday is a holiday
    assert at("2026-01-07T21:30:00+00:00")["business_hours"] is False  # Wednesday: not a day
