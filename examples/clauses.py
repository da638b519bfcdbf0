"""Clauses composed word by word, so the training sentences are not a few hundred frames.

``grammar.py`` and ``phrases.py`` fill slots of fixed frames; a model trained on them alone learns
the frames and snaps any new sentence to the nearest one. Here a clause is built from parts:
a subject (pronoun, person, vehicle or event), a verb from ``VERBS`` with its object or complement,
optional time and place adverbials, in one of several forms - statement, yes/no question,
wh-question, negation, modal ("can", "want to", "would like to", "have to", "should", "will") and
past (German perfect) - with German word order done right: verb second (after a fronted time
adverb too), modal infinitives and participles last, separable prefixes at the end, "kein" for
negated indefinite objects and "nicht" otherwise. The same pieces move to different places in
different forms, which teaches the model word-level correspondences rather than frames.

``make_corpus.py`` drops every generated training sentence that matches a frame of
``heldout.py`` (``heldout.frame_matcher``), so the out-of-template test stays out of template.
"""

from __future__ import annotations

import dataclasses
import random

import grammar as g


@dataclasses.dataclass(frozen=True)
class Verb:
    """English base / 3rd singular / past / participle; German infinitive, present forms (ich, er,
    wir/Sie/sie, without a separable prefix), participle, separable prefix, perfect auxiliary, and
    what follows the verb: "acc" (object pool name), "auf" (auf + accusative), "" (nothing)."""

    en: tuple[str, str, str, str]
    de: tuple[str, str, str, str, str]
    prefix: str = ""
    aux: str = "haben"
    obj: str = ""
    comp: str = ""  # complements allowed: "place" (at the station), "dir_city", "dir_place"


def V(en: str, de: str, prefix: str = "", aux: str = "haben", obj: str = "", comp: str = "") -> Verb:  # noqa: N802
    e, d = en.split("|"), de.split("|")
    return Verb(tuple(e), tuple(d), prefix, aux, obj, comp)  # type: ignore[arg-type]


VEHICLES = [g.N("train", "Zug", "m", "Züge"), g.N("bus", "Bus", "m", "Busse"),
            g.N("plane", "Flugzeug", "n", "Flugzeuge"), g.N("ferry", "Fähre", "f", "Fähren", "ferries"),
            g.N("tram", "Straßenbahn", "f", "Straßenbahnen"), g.N("taxi", "Taxi", "n", "Taxis")]
EVENTS = [g.N("film", "Film", "m", "Filme"), g.N("concert", "Konzert", "n", "Konzerte"),
          g.N("lesson", "Unterricht", "m", "Unterrichte"), g.N("match", "Spiel", "n", "Spiele", "matches"),
          g.N("tour", "Führung", "f", "Führungen"), g.N("party", "Party", "f", "Partys", "parties"),
          g.N("course", "Kurs", "m", "Kurse"), g.N("market", "Markt", "m", "Märkte")]
POOLS: dict[str, list[g.Noun]] = {
    "goods": g.FOOD + g.CLOTHES + [n for n in g.COUNTABLES if n.en in (
        "ticket", "book", "bottle", "stamp", "postcard", "bicycle", "car", "suitcase", "glass")],
    "food": g.FOOD + g.DRINKS,
    "eat": g.FOOD,
    "things": g.LOST_THINGS + g.TABLE_THINGS + g.CLOTHES,
    "book": [n for n in g.COUNTABLES if n.en in ("ticket", "room", "table", "seat", "bed")],
    "read": [n for n in g.COUNTABLES if n.en in ("book", "letter", "postcard", "page", "question")],
    "open": [n for n in g.COUNTABLES if n.en in ("bottle", "letter", "suitcase", "book")]
    + [g.N("window", "Fenster", "n", "Fenster"), g.N("door", "Tür", "f", "Türen")],
    "people": g.RELATIVES,
    "wait": VEHICLES + g.RELATIVES,
}
VERBS = [
    V("buy|buys|bought|bought", "kaufen|kaufe|kauft|kaufen|gekauft", obj="goods", comp="place"),
    V("need|needs|needed|needed", "brauchen|brauche|braucht|brauchen|gebraucht", obj="goods"),
    V("order|orders|ordered|ordered", "bestellen|bestelle|bestellt|bestellen|bestellt", obj="food"),
    V("find|finds|found|found", "finden|finde|findet|finden|gefunden", obj="things", comp="place"),
    V("lose|loses|lost|lost", "verlieren|verliere|verliert|verlieren|verloren", obj="things", comp="place"),
    V("look for|looks for|looked for|looked for", "suchen|suche|sucht|suchen|gesucht", obj="things"),
    V("see|sees|saw|seen", "sehen|sehe|sieht|sehen|gesehen", obj="people", comp="place"),
    V("take|takes|took|taken", "nehmen|nehme|nimmt|nehmen|genommen", obj="goods"),
    V("bring|brings|brought|brought", "bringen|bringe|bringt|bringen|gebracht", obj="things"),
    V("open|opens|opened|opened", "öffnen|öffne|öffnet|öffnen|geöffnet", obj="open"),
    V("sell|sells|sold|sold", "verkaufen|verkaufe|verkauft|verkaufen|verkauft", obj="goods", comp="place"),
    V("read|reads|read|read", "lesen|lese|liest|lesen|gelesen", obj="read"),
    V("eat|eats|ate|eaten", "essen|esse|isst|essen|gegessen", obj="eat", comp="place"),
    V("forget|forgets|forgot|forgotten", "vergessen|vergesse|vergisst|vergessen|vergessen", obj="things"),
    V("book|books|booked|booked", "buchen|buche|bucht|buchen|gebucht", obj="book"),
    V("visit|visits|visited|visited", "besuchen|besuche|besucht|besuchen|besucht", obj="people"),
    V("call|calls|called|called", "anrufen|rufe|ruft|rufen|angerufen", prefix="an", obj="people"),
    V("pick up|picks up|picked up|picked up", "abholen|hole|holt|holen|abgeholt", prefix="ab",
      obj="people", comp="place"),
    V("meet|meets|met|met", "treffen|treffe|trifft|treffen|getroffen", obj="people", comp="place"),
    V("like|likes|liked|liked", "mögen|mag|mag|mögen|gemocht", obj="food"),
    V("have|has|had|had", "haben|habe|hat|haben|gehabt", obj="things"),
    V("wait for|waits for|waited for|waited for", "warten|warte|wartet|warten|gewartet", obj="auf",
      comp="place"),
    V("leave|leaves|left|left", "abfahren|fahre|fährt|fahren|abgefahren", prefix="ab", aux="sein"),
    V("arrive|arrives|arrived|arrived", "ankommen|komme|kommt|kommen|angekommen", prefix="an", aux="sein",
      comp="place"),
    V("stay|stays|stayed|stayed", "bleiben|bleibe|bleibt|bleiben|geblieben", aux="sein", comp="city"),
    V("work|works|worked|worked", "arbeiten|arbeite|arbeitet|arbeiten|gearbeitet", comp="city"),
    V("live|lives|lived|lived", "wohnen|wohne|wohnt|wohnen|gewohnt", comp="city_only"),
    V("sleep|sleeps|slept|slept", "schlafen|schlafe|schläft|schlafen|geschlafen", comp="place"),
    V("go|goes|went|gone", "gehen|gehe|geht|gehen|gegangen", aux="sein", comp="dir_place"),
    V("travel|travels|travelled|travelled", "fahren|fahre|fährt|fahren|gefahren", aux="sein",
      comp="dir_city"),
    V("come|comes|came|come", "kommen|komme|kommt|kommen|gekommen", aux="sein", comp="from"),
    V("start|starts|started|started", "anfangen|fange|fängt|fangen|angefangen", prefix="an"),
]
# Who does what: vehicles leave and arrive, events start; people do everything else.
_VEHICLE_VERBS = ("leave", "arrive")
_EVENT_VERBS = ("start",)

_PLURAL_RELATIVES = ("brother", "sister", "son", "daughter", "uncle", "aunt")
PRONOUNS = [("I", "ich", "1"), ("we", "wir", "p"), ("you", "Sie", "p"), ("he", "er", "3"),
            ("she", "sie", "3"), ("they", "sie", "p")]
# English (1st/plural, 3rd singular), German (ich, er, wir/Sie/sie), English question word order
MODALS = {
    "can": (("can", "can"), ("kann", "kann", "können")),
    "want": (("want to", "wants to"), ("will", "will", "wollen")),
    "like": (("would like to", "would like to"), ("möchte", "möchte", "möchten")),
    "must": (("have to", "has to"), ("muss", "muss", "müssen")),
    "should": (("should", "should"), ("soll", "soll", "sollen")),
    "will": (("will", "will"), ("werde", "wird", "werden")),
}
AUX = {"haben": ("habe", "hat", "haben"), "sein": ("bin", "ist", "sind")}
_PERSON = {"1": 0, "3": 1, "p": 2}


def _subject(rng: random.Random, verb: Verb) -> tuple[str, str, str]:
    """(English, German nominative, person "1"/"3"/"p")."""
    if verb.en[0] in _VEHICLE_VERBS or verb.en[0] in _EVENT_VERBS:
        noun = rng.choice(VEHICLES if verb.en[0] in _VEHICLE_VERBS else EVENTS)
        det = rng.choice(["def", "def", "dies"] + (["mein"] if verb.en[0] in _VEHICLE_VERBS else []))
        en = {"def": "the", "dies": "this", "mein": "my"}[det]
        return f"{en} {noun.en}", g.de_np(noun, det, "nom"), "3"
    r = rng.random()
    if r < 0.65:
        return rng.choice(PRONOUNS)
    if r < 0.85:
        noun = rng.choice(g.RELATIVES)
        if rng.random() < 0.25 and noun.en in _PLURAL_RELATIVES:
            return f"my {noun.english_plural}", g.de_np(noun, "mein", "nom", plural=True), "p"
        return f"my {noun.en}", g.de_np(noun, "mein", "nom"), "3"
    name = rng.choice(g.NAMES)[0]
    return name, name, "3"


def _object(rng: random.Random, verb: Verb, style: str) -> tuple[str, str, str]:
    """(English, German accusative, the clause negated: the object with "kein", "nicht" (negate
    with "nicht"), or "" (not negated: "I do not buy three apples" has no plain German))."""
    if verb.obj == "auf":
        en, de, neg = _object(rng, dataclasses.replace(verb, obj="wait"), style)
        return en, "auf " + de, neg and "nicht"
    noun = rng.choice(POOLS[verb.obj])
    if verb.obj == "people" or noun in g.RELATIVES:
        if rng.random() < 0.3:
            name = rng.choice(g.NAMES)[0]
            return name, name, "nicht"
        det = rng.choice(["mein", "mein", "Ihr", "unser"])
        en = {"mein": "my", "Ihr": "your", "unser": "our"}[det]
        return f"{en} {noun.en}", g.de_np(noun, det, "acc"), "nicht"
    adj = rng.choice(g.COLOURS + g.SIZE_ADJS) if rng.random() < 0.25 and verb.obj != "people" else None
    kind = rng.choice(["def", "def", "indef", "indef", "mein", "dies", "count"])
    x = g.NP(noun, adj, count=g.sample_number(rng, 2, 12), style=style)
    if kind == "count":
        return x.en("q"), x.de("q_acc"), ""
    if kind == "indef":
        return x.en("a"), x.de("indef_acc"), g.de_np(noun, "kein", "acc", adj=adj)
    en = {"def": "the", "mein": "my", "dies": "this"}[kind]
    return x.en(en), g.de_np(noun, kind, "acc", adj=adj), "nicht"


_IN_PLACE = ("sleep", "eat", "work", "buy", "find", "lose", "meet", "see")


def _complement(rng: random.Random, verb: Verb, style: str) -> tuple[str, str, bool]:
    """(English, German, directional): a place or direction after the verb, or nothing.
    Directional ones ("to Berlin", "in Berlin" after stay/live) come after "nicht" in German."""
    comp = verb.comp
    if not comp or (comp in ("place", "city") and rng.random() < 0.5):
        return "", "", False
    if comp == "dir_place":
        x = g.NP(rng.choice(g.PLACES), style=style)
        return f"to the {x.en('')}", x.de("zu"), True
    if comp == "place" and rng.random() < 0.6:
        x = g.NP(rng.choice(g.PLACES), style=style)
        if verb.en[0] in _IN_PLACE and rng.random() < 0.5:
            return f"in the {x.en('')}", x.de("in"), False
        return f"at the {x.en('')}", x.de("an"), False
    if comp == "dir_city" and rng.random() < 0.35:
        c = g.country(rng, style)
        return f"to {c.en('')}", c.de("nach"), True
    en, de = rng.choice(g.CITIES)
    if comp == "dir_city":
        return f"to {en}", f"nach {de}", True
    if comp == "from":
        return f"from {en}", f"aus {de}", True
    return f"in {en}", f"in {de}", comp != "place"


def _time(rng: random.Random, past: bool, style: str) -> tuple[str, str]:
    r = rng.random()
    if r < 0.3:
        t = g.clock_time(rng, style)
        return f"at {t.en('')}", f"um {t.de('')}"
    if r < 0.55:
        d = g.day(rng, style)
        return d.en("on"), d.de("on")
    return rng.choice(g.PAST_TIMES if past else g.NOW_TIMES + g.FUTURE_WEATHER_TIMES[:3])


def clause(rng: random.Random, style: str) -> tuple[str, str]:
    """One composed clause `(english, german)`."""
    verb = rng.choice(VERBS)
    plain = verb.en[0] in ("have", "like")  # no "have to have", "would like to like"
    kind = rng.choices(["statement", "question", "wh"], weights=[10, 5, 3])[0]
    tense = rng.choices(["present", "modal", "past"], weights=[3, 4, 3])[0]
    if plain:
        tense = "present" if verb.en[0] == "have" else rng.choice(["present", "past"])
    things = verb.en[0] in _VEHICLE_VERBS + _EVENT_VERBS  # no "the bus wants to leave"
    modal = rng.choice(["can", "will", "should"] if things else list(MODALS)) if tense == "modal" else ""
    s_en, s_de, person = _subject(rng, verb)
    p, third = _PERSON[person], person == "3"
    o_en, o_de, neg = _object(rng, verb, style) if verb.obj else ("", "", "nicht")
    negate = kind == "statement" and bool(neg) and rng.random() < 0.25
    if negate and modal == "like":
        modal = "want"
    c_en, c_de, directional = _complement(rng, verb, style)
    timed = rng.random() < (0.45 if verb.obj else 0.8)
    t_en, t_de = _time(rng, tense == "past", style) if timed else ("", "")
    wh = ""
    if kind == "wh":
        wh = rng.choice(["why"] + (["when"] if not t_en else [])
                        + (["where"] if not c_en and verb.comp in ("place", "city", "city_only") else []))

    # German: [front | wh] finite [subject] | time object place nicht direction | final verb
    if tense == "past":
        finite, final = AUX[verb.aux][p], verb.de[4]
    elif modal:
        finite, final = MODALS[modal][1][p], verb.de[0]
    else:
        finite, final = verb.de[1 + p], verb.prefix
    if negate and neg != "nicht":
        o_de, nicht = neg, ""
    else:
        nicht = "nicht" if negate else ""
    place, direction = ("", c_de) if directional else (c_de, "")
    front = t_de if kind == "statement" and t_de and rng.random() < 0.3 else ""
    middle = [x for x in ("" if front else t_de, o_de, place, nicht, direction, final) if x]
    if kind == "statement":
        de = " ".join([front, finite, s_de] if front else [s_de, finite]) + " " + " ".join(middle) + "."
    else:
        wh_de = {"why": "warum", "when": "wann", "where": "wo", "": ""}[wh]
        de = " ".join(x for x in (wh_de, finite, s_de, *middle) if x) + "?"

    # English: [time,] subject verb object complement time / [wh] aux subject verb object ...
    tail = [x for x in (o_en, c_en, "" if front else t_en) if x]
    if kind == "statement":
        if tense == "past":
            vp = f"did not {verb.en[0]}" if negate else verb.en[2]
        elif modal:
            m = MODALS[modal][0][1 if third else 0]
            if negate:
                m = {"can": "cannot", "will": "will not", "should": "should not",
                     "want to": "do not want to", "wants to": "does not want to",
                     "have to": "do not have to", "has to": "does not have to"}[m]
            vp = f"{m} {verb.en[0]}"
        else:
            do_not = "does not " if third else "do not "
            vp = do_not + verb.en[0] if negate else verb.en[1 if third else 0]
        en = " ".join([f"{t_en}," if front else "", s_en, vp, *tail]).strip() + "."
    else:
        do = "does" if third else "do"
        if tense == "past":
            lead, rest = "did", verb.en[0]
        elif modal:
            m = MODALS[modal][0][0]
            lead, rest = {"want to": (do, "want to"), "have to": (do, "have to"),
                          "would like to": ("would", "like to")}.get(m, (m, ""))
            rest = f"{rest} {verb.en[0]}".strip()
        else:
            lead, rest = do, verb.en[0]
        en = " ".join(x for x in (wh, lead, s_en, rest, *tail) if x) + "?"
    return g._capitalise(" ".join(en.split())), g._capitalise(" ".join(de.split()))


CATEGORIES: dict = {"clauses": ([g.Func(clause)], 0.5)}
