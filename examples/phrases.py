"""What a new user says first, beyond the sentences of ``grammar.py``: numbers and ordinals spoken
alone, bare times, dates and prices, single words and short fragments, short commands and
questions, and compositions of two pieces from different templates.

Conventions (on top of ``grammar.py``'s, ``style="mixed"``):

- A fragment that is not a sentence (a number, a time, a date, a price, a word, a noun phrase)
  has no final punctuation on either side; the German starts with a capital letter, as a
  subtitle line does ("half past seven" / "Halb acht", "two tickets" / "Zwei Fahrkarten").
- A number alone is a quantity: words up to 12, digits from 13 ("seven" / "Sieben",
  "three hundred and twelve" / "312"). An ordinal alone is a German word in the form after the
  definite article ("fifth" / "Fünfte", "twenty-first" / "Einundzwanzigste").
- A composition joins two pieces in order, each translated as it is alone; a fragment inside a
  composition gets a full stop ("Seven. The train leaves at nine." / "Sieben. Der Zug fährt
  um neun Uhr ab.").

``CATEGORIES`` is ``grammar.CATEGORIES`` plus "fragments", "commands" and "compositions"; pass it
to ``grammar.generate``. Numbers alone are drawn apart (``numbers_alone``): there are too few of
them to draw distinct sentences, so they repeat, with other recordings.
"""

from __future__ import annotations

import random

import grammar as g

# ---------------------------------------------------------------------------- numbers alone


def number_alone(rng: random.Random, style: str = "mixed") -> tuple[str, str, str]:
    """One cardinal 0..1000 (small ones most often) or ordinal 1..99, spoken alone:
    `(english, german, "numbers_alone")`."""
    if rng.random() < 0.2:
        n = rng.randint(1, 31) if rng.random() < 0.8 else rng.randint(32, 99)
        return g._capitalise(g.en_ordinal(n)), g._capitalise(g.de_ordinal_stem(n) + "e"), "numbers_alone"
    r = rng.random()
    n = rng.randint(0, 20) if r < 0.4 else rng.randint(21, 100) if r < 0.7 else rng.randint(101, 1000)
    en = g.en_cardinal(n, use_and=rng.random() < 0.6)
    if n in (100, 1000) and rng.random() < 0.3:
        en = en.replace("one ", "a ", 1)
    return g._capitalise(en), g._capitalise(g.de_quantity(n, style)), "numbers_alone"


def numbers_alone(n: int, seed: int | str, style: str = "mixed") -> list[tuple[str, str, str]]:
    """`n` numbers spoken alone (repeats allowed), deterministic in `seed`."""
    rng = random.Random(seed)
    return [number_alone(rng, style) for _ in range(n)]


# ---------------------------------------------------------------------------- fragments

WORDS = [
    ("yes", "Ja"), ("no", "Nein"), ("please", "Bitte"), ("thanks", "Danke"), ("okay", "Okay"),
    ("sorry", "Entschuldigung"), ("hello", "Hallo"), ("hi", "Hi"), ("bye", "Tschüss"), ("stop", "Stopp"),
    ("help", "Hilfe"), ("water", "Wasser"), ("coffee", "Kaffee"), ("tea", "Tee"), ("beer", "Bier"),
    ("left", "Links"), ("right", "Rechts"), ("straight on", "Geradeaus"), ("today", "Heute"),
    ("tomorrow", "Morgen"), ("yesterday", "Gestern"), ("now", "Jetzt"), ("later", "Später"),
    ("here", "Hier"), ("there", "Dort"), ("maybe", "Vielleicht"), ("of course", "Natürlich"),
    ("exactly", "Genau"), ("again", "Noch einmal"), ("tonight", "Heute Abend"), ("soon", "Bald"),
    ("the bill", "Die Rechnung"), ("the menu", "Die Speisekarte"), ("a taxi", "Ein Taxi"),
    ("a doctor", "Ein Arzt"), ("the police", "Die Polizei"), ("the toilet", "Die Toilette"),
    ("breakfast", "Frühstück"), ("lunch", "Mittagessen"), ("dinner", "Abendessen"),
    ("how much", "Wie viel"), ("how many", "Wie viele"), ("where", "Wo"), ("when", "Wann"),
    ("why", "Warum"), ("what", "Was"), ("who", "Wer"), ("how", "Wie"),
    ("really", "Wirklich"), ("good", "Gut"), ("very good", "Sehr gut"), ("great", "Toll"),
    ("not bad", "Nicht schlecht"), ("too expensive", "Zu teuer"), ("too late", "Zu spät"),
    ("next week", "Nächste Woche"), ("this morning", "Heute Morgen"), ("at home", "Zu Hause"),
]


def _nominative_price(rng: random.Random, style: str) -> g.Filler:
    p = g.price(rng, style)
    de = p.de("")
    return g.Fixed(p.en(""), "Ein " + de[6:] if de.startswith("einen ") else de)


def _word(rng: random.Random, style: str) -> g.Filler:
    pools = [WORDS, [d[:2] for d in g.DAYS], [m[:2] for m in g.MONTHS], g.CITIES, g.LANGUAGES,
             [c[:2] for c in g.COUNTRIES if not c[2]], g.COLOUR_NOUNS]
    return g.Fixed(*rng.choice(rng.choice(pools)))


def _noun(rng: random.Random, style: str) -> g.Filler:
    """A noun phrase alone, nominative: "the station", "a coffee", "my passport", "three keys"."""
    pool = rng.choice([g.PLACES, g.FOOD, g.CLOTHES, g.DRINKS, g.LOST_THINGS, g.COUNTABLES, g.ROOM_THINGS])
    noun = rng.choice(pool)
    kind = rng.choice(["the", "a", "my", "q", "adj"])
    if kind == "q":
        x = g.NP(noun, count=g.sample_number(rng, 2, 200), style=style)
        return g.Fixed(x.en("q"), x.de("q_nom"))
    if kind == "adj":
        x = g.NP(noun, rng.choice(g.COLOURS + g.SIZE_ADJS), style=style)
        return g.Fixed(x.en("the"), x.de("def_nom"))
    x = g.NP(noun, style=style)
    return g.Fixed(x.en(kind), x.de({"the": "def_nom", "a": "indef_nom", "my": "mein_nom"}[kind]))


def _to_place(rng: random.Random, style: str) -> g.Filler:
    x = g.NP(rng.choice(g.PLACES), style=style)
    return g.Fixed(f"to the {x.en('')}", x.de("zu"))


def _measure(rng: random.Random, style: str) -> g.Filler:
    """A number and a unit alone: "twenty minutes" / "20 Minuten", "five kilometres"."""
    unit = rng.choice([("minute", "Minute", "Minuten"), ("hour", "Stunde", "Stunden"), ("day", "Tag", "Tage"),
                       ("week", "Woche", "Wochen"), ("year", "Jahr", "Jahre"),
                       ("kilometre", "Kilometer", "Kilometer"), ("metre", "Meter", "Meter"),
                       ("kilo", "Kilo", "Kilo"), ("person", "Person", "Personen", "people")])
    n = g.sample_number(rng, 2, 500)
    en_pl = unit[3] if len(unit) > 3 else unit[0] + "s"
    return g.Fixed(f"{g.en_cardinal(n, rng.random() < 0.5)} {en_pl}", f"{g.de_quantity(n, style)} {unit[2]}")


def _at_time(rng: random.Random, style: str) -> g.Filler:
    t = g.clock_time(rng, style)
    return g.Fixed(f"at {t.en('')}", f"um {t.de('')}")


def _to_country(rng: random.Random, style: str) -> g.Filler:
    c = g.country(rng, style)
    return g.Fixed(f"to {c.en('')}", c.de("nach"))


def _on_date(rng: random.Random, style: str) -> g.Filler:
    d = g.date(rng, style)
    return g.Fixed(d.en("on"), d.de("am"))


_F = g.Template
FRAGMENTS: list = [
    _F("{t}", "{t}", {"t": g.clock_time}),
    _F("{t}", "{t}", {"t": _at_time}),
    _F("{d}", "{d:nom}", {"d": g.date}),
    _F("{d}", "{d}", {"d": _on_date}),
    _F("{d}", "{d}", {"d": g.day}),
    _F("{d:on}", "{d:on}", {"d": g.day}),
    _F("{p}", "{p}", {"p": _nominative_price}),
    _F("{y}", "{y}", {"y": g.year}),
    _F("{r}", "{r}", {"r": g.date_range}),
    _F("{w}", "{w}", {"w": _word}),
    _F("{w}", "{w}", {"w": _word}),
    _F("{x}", "{x}", {"x": _noun}),
    _F("{x}", "{x}", {"x": _noun}),
    _F("{x}", "{x}", {"x": _to_place}),
    _F("{m}", "{m}", {"m": _measure}),
    _F("{n}", "{n}", {"n": g.temperature}),
    _F("{f}", "{f}", {"f": g.future_time}),
    _F("{m}", "{m:nom}", {"m": g._measure}),
    _F("{c}", "{c}", {"c": _to_country}),
]

COMMANDS: list = [
    _F("{a}.", "{a:imp}.", {"a": g.action}),
    _F("{a}, please.", "{a:imp}, bitte.", {"a": g.action}),
    _F("{a}!", "{a:imp}!", {"a": g.action}),
    _F("{x:q}, please.", "{x:q_acc}, bitte.", {"x": g.np_count(g.DRINKS + g.FOOD, 1, 12)}),
    _F("{x:the}, please.", "{x:def_acc}, bitte.", {"x": g.pick(g.DISHES + g.EXTRA_THINGS)}),
    _F("To the {p}, please.", "{p:zu}, bitte.", {"p": g.pick(g.PLACES)}),
    _F("To {c}, please.", "Nach {c}, bitte.", {"c": g.pick(g.CITIES)}),
    _F("At {t}, please.", "Um {t}, bitte.", {"t": g.clock_time}),
    _F("{w}, please.", "{w}, bitte.", {"w": g.pick([("water", "Wasser"), ("coffee", "Kaffee"), ("tea", "Tee"),
                                                    ("the bill", "Die Rechnung"), ("help", "Hilfe"),
                                                    ("one moment", "Einen Moment"), ("slowly", "Langsam"),
                                                    ("again", "Noch einmal")])}),
    _F("{w}, thank you.", "{w}, danke.", {"w": g.pick([("yes", "Ja"), ("no", "Nein"), ("okay", "Okay"),
                                                       ("good", "Gut")])}),
    _F("Where is {x:my}?", "Wo ist {x:mein_nom}?", {"x": g.pick(g.LOST_THINGS)}),
    _F("How much are {x:q}?", "Wie viel kosten {x:q_nom}?", {"x": g.np_count(g.FOOD + g.CLOTHES, 2, 20)}),
    _F("What time is it in {c}?", "Wie spät ist es in {c}?", {"c": g.pick(g.CITIES)}),
    _F("Wait!", "Warten Sie!"), _F("Stop!", "Halt!"), _F("Look!", "Schauen Sie!"),
    _F("Listen!", "Hören Sie!"),
    _F("Come here!", "Kommen Sie her!"), _F("Hurry up!", "Beeilen Sie sich!"), _F("Be careful!", "Vorsicht!"),
    _F("Let us go.", "Gehen wir."), _F("Sit down, please.", "Setzen Sie sich, bitte."),
    _F("Thanks a lot!", "Danke schön!"), _F("Good morning, everyone!", "Guten Morgen zusammen!"),
    _F("Hi, how are you?", "Hallo, wie geht es Ihnen?"), _F("Bye, see you tomorrow!", "Tschüss, bis morgen!"),
    _F("See you!", "Bis dann!"), _F("All right.", "In Ordnung."), _F("Never mind.", "Macht nichts."),
]


def _piece(rng: random.Random, style: str, categories: dict) -> tuple[str, str, str]:
    names = [n for n in categories if n != "compositions"]
    name = rng.choices(names, weights=[categories[n][1] for n in names])[0]
    en, de = rng.choice(categories[name][0]).sample(rng, style)
    return en, de, name


def _stop(text: str) -> str:
    return text if text[-1:] in ".?!" else text + "."


def composition(rng: random.Random, style: str) -> tuple[str, str]:
    """Two pieces of different categories, short enough to say in one go, joined in order."""
    for _ in range(20):
        a, b = _piece(rng, style, CATEGORIES), _piece(rng, style, CATEGORIES)
        if a[2] != b[2] and len(a[0].split()) + len(b[0].split()) <= 14:
            break
    return f"{_stop(a[0])} {b[0]}", f"{_stop(a[1])} {b[1]}"


CATEGORIES: dict = {
    **g.CATEGORIES,
    "fragments": (FRAGMENTS, 0.16),
    "commands": (COMMANDS, 0.08),
    "compositions": ([g.Func(composition)], 0.14),
}
