"""A held-out sentence generator for testing: its own templates, never used in training.

The frames below occur in no template of ``grammar.py`` or ``phrases.py``; they reuse the
grammar's vocabulary and slot fillers (times, dates, prices, places, nouns), so they test whether
the model translates familiar pieces in sentences it never heard, as a new user would say them.
Same conventions as ``grammar.py``. ``make_corpus.py`` drops any sentence that
also occurs in its training, dev or test split, and speaks these with voices held out of training.
"""

from __future__ import annotations

import random

import grammar as g

_T = g.Template
_ARRIVE_PLACES = g.pick([p for p in g.PLACES if p.en in ("station", "airport", "hotel", "museum", "park",
                                                           "restaurant", "cinema", "bank", "zoo")])

TEMPLATES: list = [
    _T("My flight is {d:on} at {t}.", "Mein Flug ist {d:am} um {t}.",
       {"d": g.date_no_year, "t": g.clock_time}),
    _T("My flight is on {d} at {t}.", "Mein Flug ist am {d} um {t}.", {"d": g.day, "t": g.clock_time}),
    _T("We need {n} tickets to {c}.", "Wir brauchen {n} Fahrkarten nach {c}.",
       {"n": g.quantity(2, 12), "c": g.pick(g.CITIES)}),
    _T("Does the bus leave at {t}?", "Fährt der Bus um {t} ab?", {"t": g.clock_time}),
    _T("The {p} is open until {t}.", "{p:def_nom} ist bis {t} geöffnet.",
       {"p": g.pick(g.SHOPS), "t": g.clock_time}),
    _T("My {r} arrives at {t}.", "{r:mein_nom} kommt um {t} an.",
       {"r": g.pick(g.RELATIVES), "t": g.clock_time}),
    _T("We arrive {d:on} at {t}.", "Wir kommen {d:am} um {t} an.",
       {"d": g.date_no_year, "t": g.clock_time}),
    _T("We are staying in {c} for {n} nights.", "Wir bleiben {n} Nächte in {c}.",
       {"c": g.pick(g.CITIES), "n": g.quantity(2, 21)}),
    _T("Do you have a room for {n} nights?", "Haben Sie ein Zimmer für {n} Nächte?",
       {"n": g.quantity(2, 21)}),
    _T("I will be there at {t}.", "Ich bin um {t} da.", {"t": g.clock_time}),
    _T("Call me at {t}, please.", "Rufen Sie mich bitte um {t} an.", {"t": g.clock_time}),
    _T("Please wait until {t}.", "Bitte warten Sie bis {t}.", {"t": g.clock_time}),
    _T("See you at {t}!", "Bis {t}!", {"t": g.clock_time}),
    _T("How much is a ticket to {c}?", "Wie viel kostet eine Fahrkarte nach {c}?", {"c": g.pick(g.CITIES)}),
    _T("I paid {p}.", "Ich habe {p} bezahlt.", {"p": g.price}),
    _T("Breakfast costs {p}.", "Das Frühstück kostet {p}.", {"p": g.price}),
    _T("We have {x:q}.", "Wir haben {x:q_acc}.", {"x": g.np_count(g.COUNTABLES, 1, 200)}),
    _T("Can I have {x:q}?", "Kann ich {x:q_acc} haben?", {"x": g.np_count(g.FOOD, 1, 12)}),
    _T("Where are the {x:pl}?", "Wo sind die {x:pl_nom}?", {"x": g.pick(g.FOOD + g.CLOTHES)}),
    _T("The {x} is on the table.", "{x:def_nom} liegt auf dem Tisch.", {"x": g.pick(g.TABLE_THINGS)}),
    _T("My birthday is in {m}.", "Mein Geburtstag ist im {m}.", {"m": g.pick([m[:2] for m in g.MONTHS])}),
    _T("The meeting is on {d}.", "Die Besprechung ist am {d}.", {"d": g.day}),
    _T("I am going to {c} on {d}.", "Ich fahre am {d} nach {c}.", {"c": g.pick(g.CITIES), "d": g.day}),
    _T("Is there {p:a} in {c}?", "Gibt es {p:indef_acc} in {c}?",
       {"p": g.pick(g.PLACES), "c": g.pick(g.CITIES)}),
    _T("Good morning, I need {x:a}.", "Guten Morgen, ich brauche {x:indef_acc}.",
       {"x": g.pick(g.EXTRA_THINGS)}),
    _T("It is {n} minutes to the {p}.", "Bis {p:zu} sind es {n} Minuten.",
       {"n": g.quantity(2, 60), "p": g.pick(g.PLACES)}),
    _T("My train leaves from platform {n}.", "Mein Zug fährt von Gleis {n} ab.", {"n": g.ident(1, 24)}),
    _T("My {r} is in {c}.", "{r:mein_nom} ist in {c}.", {"r": g.pick(g.RELATIVES), "c": g.pick(g.CITIES)}),
    _T("I am looking for my {x}.", "Ich suche {x:mein_acc}.", {"x": g.pick(g.LOST_THINGS)}),
    _T("We are meeting at the {p} at {t}.", "Wir treffen uns um {t} {p:an}.",
       {"p": _ARRIVE_PLACES, "t": g.clock_time}),
    _T("The {x} costs {p} today.", "{x:def_nom} kostet heute {p}.", {"x": g.pick(g.FOOD), "p": g.price}),
    _T("Today is {d}, the {o}.", "Heute ist {d}, der {o}.",
       {"d": g.day, "o": g.pick([(g.en_ordinal(n), g.de_ordinal_stem(n) + "e") for n in range(1, 32)])}),
    _T("The {x:pl} are {p} each.", "Die {x:pl_nom} kosten je {p}.", {"x": g.pick(g.CLOTHES), "p": g.price}),
    _T("I would like to go to {c} {f}.", "Ich möchte {f} nach {c} fahren.",
       {"c": g.pick(g.CITIES), "f": g.future_time}),
    _T("We waited until {t}.", "Wir haben bis {t} gewartet.", {"t": g.clock_time}),
]


def generate(n: int, seed: int | str, style: str = "mixed",
             exclude: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, str, str]]:
    """``n`` distinct ``(english, german, "heldout")`` sentences (by English and German), none of
    whose English or German is in ``exclude``; deterministic in ``seed``. Fewer come back only
    when ``50 n + 1000`` draws do not find enough."""
    rng = random.Random(seed)
    out: list[tuple[str, str, str]] = []
    seen = set(exclude)
    for _ in range(50 * n + 1000):
        if len(out) == n:
            break
        en, de = rng.choice(TEMPLATES).sample(rng, style)
        if en not in seen and de not in seen:
            seen.update((en, de))
            out.append((en, de, "heldout"))
    return out
