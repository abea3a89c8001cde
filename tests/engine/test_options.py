"""The option-value codec: every kind round-trips, and what the bot never made is refused
in words (``BadOption``), never with a traceback."""

from __future__ import annotations

import pytest

from bot.engine import options as opts
from scoring import Cadence

EVERY_KIND: list[tuple[opts.OptionValue, str]] = [
    (opts.Answer("pays_now", "4"), "a|pays_now|4"),
    (opts.Answer("margin", "0.5"), "a|margin|0.5"),
    (opts.Answer("notes", "a|b"), "a|notes|a|b"),  # the value may hold the separator
    (opts.Confirm("renewal", "yes"), "k|renewal|yes"),
    (opts.Command("why"), "c|why|"),
    (opts.Command("change", 3), "c|change|3"),
    (opts.Command("skip", at=0), "c|skip|@0"),
    (opts.Command("back", at=12), "c|back|@12"),
    (opts.Command("resume", 41), "c|resume|41"),
    (opts.Command("restart", 41, cadence=Cadence.ANNUAL), "c|restart|41.annual"),
    (opts.Pick(7), "pick||7"),
    (opts.Pick(7, Cadence.QUARTERLY), "pick|quarterly|7"),
    (opts.Create("Acme Corp"), "create||Acme Corp"),
    (opts.Create("A|B", Cadence.STRATEGIC), "create|strategic|A|B"),
    (opts.Decide(9, "invest_less"), "d|9|invest_less"),
    (opts.OpenForm(5), "form|5"),
    (opts.SubmitForm(5), "submit|5"),
    (opts.OpenOverride(21), "ovr|21"),
    (opts.SaveOverride(21), "ovrsave|21"),
    (opts.RecordOutcome(21, "renewed"), "out|21|renewed"),
    (opts.RecordOutcome(21, "defaulted_or_paid_late"), "out|21|defaulted_or_paid_late"),
    (opts.RecordOutcome(21, "churned", 8), "out|21|churned|8"),
    (opts.RecordOutcome(21, "later", 8), "out|21|later|8"),
    (opts.Snooze(11, 7), "rem|snooze|11|7"),
    (opts.Away(11), "rem|away|11"),
    (opts.AwaySave(11), "remaway|11"),
    (opts.OpenSettings(), "settings"),
    (opts.OpenImport(), "open"),
    (
        opts.ImportFile("go", "F0R", "customers"),
        '{"a":"go","f":"F0R","k":"customers","m":{},"s":{},"r":false,"n":false}',
    ),
    (
        opts.ImportFile(
            "cancel",
            "F1",
            "people",
            {"name": "Account Name"},
            {"Customer - Direct": "customer"},
            True,
            True,
        ),
        '{"a":"cancel","f":"F1","k":"people","m":{"name":"Account Name"},'
        '"s":{"Customer - Direct":"customer"},"r":true,"n":true}',
    ),
]


@pytest.mark.parametrize(("value", "wire"), EVERY_KIND, ids=[w for _, w in EVERY_KIND])
def test_every_kind_round_trips_to_the_same_wire_string(value: opts.OptionValue, wire: str):
    assert opts.encode(value) == wire
    assert opts.decode(wire) == value


def test_the_table_covers_every_kind():
    kinds = {type(v) for v, _ in EVERY_KIND}  # a new kind needs a row in EVERY_KIND
    assert kinds == set(opts.OptionValue.__args__)  # type: ignore[attr-defined]


def test_shorthands_match_the_codec():
    assert opts.command("skip", at=2) == "c|skip|@2"
    assert opts.command("change", 4) == "c|change|4"
    assert opts.pick(3) == "pick||3"


GARBAGE = [
    "",
    "|",
    "||",
    "zz|1|2",
    "a",
    "a|",
    "a||4",
    "c|frobnicate|",
    "c|change|x",
    "c|skip|@",
    "c|skip|@x",
    "c|skip|@1.annual",
    "c|restart|4.weekly",
    "c|change|" + "9" * 5000,
    "pick||",
    "pick||abc",
    "pick|weekly|3",
    "pick||-1",
    "pick||²",
    "create||",
    "create||   ",
    "d|x|exit",
    "d|1|sell",
    "d|1|",
    "form|",
    "form|x",
    "submit|1|2",
    "remaway|",
    "rem|snooze|1|0",
    "rem|snooze|1|31",
    "rem|snooze|1|x",
    "rem|snooze|1",
    "rem|away|",
    "rem|away|1|2",
    "rem|nap|1",
    "settings|",
    "out|",
    "out|21",
    "out|21|",
    "out|x|renewed",
    "out|21|renewal",  # a word the CSV import reads, but never a button's
    "out|21|later",  # "not yet" answers a question: it needs one
    "out|21|renewed|",
    "out|21|renewed|x",
    "out|21|renewed|8|9",
    "out|" + "9" * 40 + "|renewed",
    "x" * 301,
    "a|" + "q" * 300 + "|1",
    "{",
    "{}",
    "[]",
    '{"a":"go"}',
    '{"a":"burn","f":"F1","k":"people"}',
    '{"a":"go","f":"F1","k":"cats"}',
    '{"a":"go","f":"F1","k":"people","m":[1]}',
    '{"a":"go","f":"' + "F" * 3000 + '","k":"people"}',
]


@pytest.mark.parametrize("wire", GARBAGE, ids=[g[:30] or "empty" for g in GARBAGE])
def test_garbage_and_forged_values_are_refused_in_words(wire: str):
    with pytest.raises(opts.BadOption) as err:
        opts.decode(wire)
    assert str(err.value)
    assert "Traceback" not in str(err.value)
    assert opts.decode_or_none(wire) is None


def test_the_codec_knows_every_outcome_kind_in_storages_order():
    from storage.models import OutcomeKind

    assert tuple(k.value for k in OutcomeKind) == opts.OUTCOME_KINDS
    assert opts.NOT_YET not in opts.OUTCOME_KINDS


def test_a_value_the_codec_cannot_make_is_refused_when_encoding():
    with pytest.raises(opts.BadOption):
        opts.Command("frobnicate")
    with pytest.raises(opts.BadOption):
        opts.encode(opts.Answer("a|b", "1"))  # a question id never holds the separator
    with pytest.raises(opts.BadOption):
        opts.encode(opts.Create("x" * 400))


def test_every_value_the_engine_offers_decodes(chat):
    """The values on a real grading's prompts (choose customer, question, review) decode and
    encode back to themselves."""
    from bot.engine import Choose

    seen: list[str] = []
    chat.start("Acme", Cadence.QUARTERLY)
    seen += [o.value for p in chat.last for o in p.choices]
    chat.pick("Create Acme")
    pulse = chat
    pulse.say("4")
    for p in pulse.last:
        seen += [o.value for o in p.choices + p.actions]
        seen += [m.value for o in p.choices + p.actions for m in o.menu]
    pulse.send("review", Choose(opts.command("review")))
    for p in pulse.last:
        seen += [o.value for o in p.choices + p.actions]
        seen += [m.value for o in p.actions for m in o.menu]
    assert seen
    for v in seen:
        assert opts.encode(opts.decode(v)) == v
