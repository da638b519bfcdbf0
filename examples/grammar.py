"""A small English→German sentence grammar for a synthetic speech-translation corpus.

Every sample is drawn from a template whose English and German sides are filled from the same slot
values, so the German is a translation of the English by construction. German noun phrases are
declined (case, gender, number; articles, ``zum``/``zur``/``am``/``im`` contractions, adjective
endings) by the small morphology below.

Number conventions (``style``):

- English (the spoken side) always writes numbers as words ("three hundred and twelve").
- German, ``style="mixed"`` (default, Duden-like, what a written German subtitle would show):
  quantities 0–12 as words ("drei Äpfel", "zwölf Euro"), 13 and above as digits ("25 Äpfel",
  "1500 Personen"; no thousands separator, numbers stay below 10 000); the numeral one before a noun
  is the article ("einen Apfel", "eine Nacht"); prices with cents in digits ("12,50 Euro",
  "0,50 Euro" is written "50 Cent"); digital clock times in 24-hour digits ("um 18:40 Uhr"); years and
  identifiers (platform, room, bus, page, seat) in digits ("Gleis 7", "im Jahr 1985").
  Colloquial clock times ("um halb acht", "um Viertel nach neun", "um zehn vor sechs", "um sieben
  Uhr") and date ordinals ("am fünften Mai") are always words.
- German, ``style="words"``: every number as words ("fünfundzwanzig Äpfel", "zwölf Euro fünfzig",
  "um achtzehn Uhr vierzig", "neunzehnhundertfünfundachtzig").

The register is formal (``Sie``) throughout, so each English sentence has exactly one German
translation. Sentences end with ``.``, ``?`` or ``!``; English never contains digits.
"""

from __future__ import annotations

import dataclasses
import random
import string
from collections.abc import Callable, Sequence
from typing import Any

STYLES = ("mixed", "words")

# ============================================================================ numbers

_EN_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_ORD_ONES = (
    "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"
).split()
_EN_ORD_TENS = "_ _ twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth".split()

_DE_ONES = (
    "null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn fünfzehn "
    "sechzehn siebzehn achtzehn neunzehn"
).split()
_DE_TENS = "_ _ zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig".split()


def en_cardinal(n: int, use_and: bool = True) -> str:
    """English number words, 0 ≤ n < 1 000 000 ("three hundred and five", "twenty-one")."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"number out of range: {n}")
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")
    parts: list[str] = []
    thousands, rest = divmod(n, 1000)
    if thousands:
        parts += [en_cardinal(thousands, use_and), "thousand"]
    hundreds, rest = divmod(rest, 100)
    if hundreds:
        parts += [_EN_ONES[hundreds], "hundred"]
    if rest:
        if use_and:
            parts.append("and")
        parts.append(en_cardinal(rest))
    return " ".join(parts)


def en_ordinal(n: int) -> str:
    """English ordinal words, 1 ≤ n < 100 ("fifth", "twenty-first")."""
    if not 1 <= n < 100:
        raise ValueError(f"ordinal out of range: {n}")
    if n < 20:
        return _EN_ORD_ONES[n]
    tens, ones = divmod(n, 10)
    return _EN_ORD_TENS[tens] if not ones else f"{_EN_TENS[tens]}-{_EN_ORD_ONES[ones]}"


def _de_under_100(n: int, final: bool = True) -> str:
    if n < 20:
        return "ein" if n == 1 and not final else _DE_ONES[n]
    tens, ones = divmod(n, 10)
    if not ones:
        return _DE_TENS[tens]
    return ("ein" if ones == 1 else _DE_ONES[ones]) + "und" + _DE_TENS[tens]


def de_cardinal(n: int, final: bool = True) -> str:
    """German number words, 0 ≤ n < 1 000 000 ("dreihundertfünf", "einundzwanzig").

    ``final=False`` gives the attributive form of 1 ("ein", as in "ein Uhr").
    """
    if not 0 <= n < 1_000_000:
        raise ValueError(f"number out of range: {n}")
    if n < 100:
        return _de_under_100(n, final)
    out = ""
    thousands, rest = divmod(n, 1000)
    if thousands:
        out += de_cardinal(thousands, final=False) + "tausend"
    hundreds, rest = divmod(rest, 100)
    if hundreds:
        out += ("ein" if hundreds == 1 else _DE_ONES[hundreds]) + "hundert"
    if rest:
        out += _de_under_100(rest, final)
    return out


def de_ordinal_stem(n: int) -> str:
    """German ordinal stem, 1 ≤ n < 100, to which the adjective ending is added ("fünft" + "en")."""
    if not 1 <= n < 100:
        raise ValueError(f"ordinal out of range: {n}")
    special = {1: "erst", 3: "dritt", 7: "siebt", 8: "acht"}
    if n in special:
        return special[n]
    return de_cardinal(n) + ("t" if n < 20 else "st")


def de_quantity(n: int, style: str) -> str:
    """A German quantity: words up to 12 (or always, ``style="words"``), digits from 13."""
    return de_cardinal(n) if style == "words" or n <= 12 else str(n)


def de_ident(n: int, style: str) -> str:
    """A German identifier (platform, room, page): digits, or words with ``style="words"``."""
    return de_cardinal(n) if style == "words" else str(n)


def en_year(year: int, rng: random.Random) -> str:
    """A year as spoken in English ("nineteen eighty-five", "twenty twenty-four")."""
    century, rest = divmod(year, 100)
    if 2000 <= year < 2010 or (year >= 2010 and rng.random() < 0.3):
        return en_cardinal(year, use_and=rng.random() < 0.5)
    if rest == 0:
        return f"{en_cardinal(century)} hundred"
    if rest < 10:
        return f"{en_cardinal(century)} oh {en_cardinal(rest)}"
    return f"{en_cardinal(century)} {en_cardinal(rest)}"


def de_year(year: int, style: str) -> str:
    """A year in German: digits, or words ("neunzehnhundertfünfundachtzig", "zweitausendzehn")."""
    if style != "words":
        return str(year)
    if 1100 <= year < 2000:
        century, rest = divmod(year, 100)
        return de_cardinal(century) + "hundert" + (de_cardinal(rest) if rest else "")
    return de_cardinal(year)


def sample_number(rng: random.Random, low: int = 0, high: int = 9999) -> int:
    """A number in [low, high], log-uniform-ish: small numbers are common, all sizes occur."""
    bands = [(0, 20, 0.35), (21, 100, 0.3), (101, 1000, 0.2), (1001, 9999, 0.15)]
    usable = [(max(a, low), min(b, high), w) for a, b, w in bands if max(a, low) <= min(b, high)]
    lo, hi, _ = rng.choices(usable, weights=[w for _, _, w in usable])[0]
    return rng.randint(lo, hi)


# ============================================================================ German morphology

_G = {"m": 0, "f": 1, "n": 2, "pl": 3}
_DEF = {"nom": ("der", "die", "das", "die"), "acc": ("den", "die", "das", "die"),
        "dat": ("dem", "der", "dem", "den")}
_DER_END = {"nom": ("er", "e", "es", "e"), "acc": ("en", "e", "es", "e"), "dat": ("em", "er", "em", "en")}
_EIN_END = {"nom": ("", "e", "", "e"), "acc": ("en", "e", "", "e"), "dat": ("em", "er", "em", "en")}
_ADJ_WEAK = {"nom": ("e", "e", "e", "en"), "acc": ("en", "e", "e", "en"), "dat": ("en", "en", "en", "en")}
_ADJ_MIXED = {"nom": ("er", "e", "es", "en"), "acc": ("en", "e", "es", "en"), "dat": ("en", "en", "en", "en")}
_ADJ_STRONG = _DER_END
_CONTRACT = {("zu", "dem"): "zum", ("zu", "der"): "zur", ("an", "dem"): "am", ("in", "dem"): "im",
             ("von", "dem"): "vom", ("bei", "dem"): "beim", ("in", "das"): "ins"}
# Determiners: der-words take _DER_END, ein-words _EIN_END (stem + ending).
_DER_WORDS = {"dies": "dies", "welch": "welch", "jed": "jed"}
_EIN_WORDS = {"indef": "ein", "kein": "kein", "mein": "mein", "Ihr": "Ihr", "unser": "unser"}
# Prepositions and the case they take with the definite article.
_PREP_CASE = {"zu": "dat", "an": "dat", "in": "dat", "von": "dat", "bei": "dat", "mit": "dat", "nach": "dat",
              "neben": "dat", "hinter": "dat", "vor": "dat", "gegenüber": "dat", "aus": "dat", "seit": "dat",
              "für": "acc", "ohne": "acc", "gegen": "acc", "um": "acc", "durch": "acc", "ins": "acc"}


@dataclasses.dataclass(frozen=True)
class Noun:
    """A countable noun: English singular/plural, German singular/plural and gender (m/f/n)."""

    en: str
    de: str
    gender: str
    de_pl: str
    en_pl: str = ""
    an: bool | None = None  # English "an" instead of "a" (None: guess from the first letter)

    @property
    def english_plural(self) -> str:
        return self.en_pl or self.en + "s"

    @property
    def de_pl_dat(self) -> str:
        return self.de_pl if self.de_pl.endswith(("n", "s")) else self.de_pl + "n"


def N(en: str, de: str, gender: str, de_pl: str, en_pl: str = "",
      an: bool | None = None) -> Noun:  # noqa: N802
    """Short constructor for the noun tables."""
    return Noun(en, de, gender, de_pl, en_pl, an)


@dataclasses.dataclass(frozen=True)
class Adj:
    """An attributive adjective: English word, German stem ("teur" for "teuer")."""

    en: str
    de_stem: str


def en_indef(word: str, an: bool | None = None) -> str:
    """'a' or 'an' before ``word``."""
    if an is None:
        an = word[0].lower() in "aeio" or word.lower().startswith(("umbrella", "hour", "honest"))
    return ("an " if an else "a ") + word


def de_np(noun: Noun, det: str, case: str, *, adj: Adj | None = None, plural: bool = False,
          count: int | None = None, style: str = "mixed") -> str:
    """A declined German noun phrase.

    Args:
        det: "def", "indef", "kein", "mein", "Ihr", "unser", "dies", "welch", "jed" or "none".
        case: "nom", "acc" or "dat".
        count: a number before the noun (2 and up; plural, strong adjective ending).
    """
    if count is not None and count != 1:
        plural = True
    g = _G["pl" if plural else noun.gender]
    parts: list[str] = []
    if det == "def":
        parts.append(_DEF[case][g])
        adj_end = _ADJ_WEAK
    elif det in _DER_WORDS:
        parts.append(_DER_WORDS[det] + _DER_END[case][g])
        adj_end = _ADJ_WEAK
    elif det in _EIN_WORDS:
        if det == "indef" and plural:
            raise ValueError("no plural indefinite article")
        parts.append(_EIN_WORDS[det] + _EIN_END[case][g])
        adj_end = _ADJ_MIXED
    elif det == "none":
        adj_end = _ADJ_STRONG
    else:
        raise ValueError(f"unknown determiner {det!r}")
    if count is not None and count != 1:
        parts.append(de_quantity(count, style))
    if adj is not None:
        parts.append(adj.de_stem + adj_end[case][g])
    if plural:
        parts.append(noun.de_pl_dat if case == "dat" else noun.de_pl)
    else:
        parts.append(noun.de)
    return " ".join(parts)


def de_pp(prep: str, noun: Noun, *, adj: Adj | None = None, plural: bool = False) -> str:
    """Preposition + definite noun phrase, contracted where German does ("zum Bahnhof", "zur Post")."""
    case = _PREP_CASE[prep]
    phrase = de_np(noun, "def", case, adj=adj, plural=plural)
    article, rest = phrase.split(" ", 1)
    if (prep, article) in _CONTRACT:
        return f"{_CONTRACT[prep, article]} {rest}"
    return f"{prep} {phrase}"


# ============================================================================ slot fillers


class Filler:
    """A slot value; ``en(spec)`` and ``de(spec)`` render it for a template's format spec."""

    def en(self, spec: str) -> str:
        raise NotImplementedError

    def de(self, spec: str) -> str:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Fixed(Filler):
    """A pre-rendered pair of strings (the spec is ignored)."""

    en_text: str
    de_text: str

    def en(self, spec: str) -> str:
        return self.en_text

    def de(self, spec: str) -> str:
        return self.de_text


@dataclasses.dataclass(frozen=True)
class Forms(Filler):
    """A value with named forms: ``en_forms[spec]`` / ``de_forms[spec]`` ("" is the default)."""

    en_forms: dict[str, str]
    de_forms: dict[str, str]

    def en(self, spec: str) -> str:
        return self.en_forms[spec]

    def de(self, spec: str) -> str:
        return self.de_forms[spec]


@dataclasses.dataclass(frozen=True)
class NP(Filler):
    """A noun phrase: a noun, optional adjective, optional count.

    English specs: "" (bare: "red jacket"), "the", "a", "my", "your", "this", "pl" (plural),
    "the_pl", "q" (quantity: "a jacket" / "three jackets").
    German specs: "<det>_<case>" ("def_nom", "indef_acc", "mein_dat", "none_acc"), "<prep>" for a
    preposition with the definite article ("zu" -> "zum Bahnhof", "an", "in", "neben", ...),
    "pl_<case>" (bare plural), "def_pl_<case>", "q_<case>" (quantity), "bare" (just the noun).
    """

    noun: Noun
    adj: Adj | None = None
    count: int = 1
    style: str = "mixed"

    def _en_core(self, plural: bool) -> str:
        word = self.noun.english_plural if plural else self.noun.en
        return f"{self.adj.en} {word}" if self.adj else word

    def en(self, spec: str) -> str:
        if spec == "":
            return self._en_core(False)
        if spec == "pl":
            return self._en_core(True)
        if spec == "the_pl":
            return "the " + self._en_core(True)
        if spec == "a":
            core = self._en_core(False)
            return en_indef(core, self.noun.an if self.adj is None else None)
        if spec == "q":
            if self.count == 1:
                return self.en("a")
            return f"{en_cardinal(self.count)} {self._en_core(True)}"
        if spec in ("the", "my", "your", "this", "our"):
            return f"{spec} {self._en_core(False)}"
        raise KeyError(spec)

    def de(self, spec: str) -> str:
        if spec == "bare":
            return self.noun.de
        if spec in _PREP_CASE:
            return de_pp(spec, self.noun, adj=self.adj)
        parts = spec.split("_")
        if parts[0] == "q":
            if self.count == 1:
                return de_np(self.noun, "indef", parts[1], adj=self.adj)
            return de_np(self.noun, "none", parts[1], adj=self.adj, count=self.count, style=self.style)
        if parts[0] == "pl":
            return de_np(self.noun, "none", parts[1], adj=self.adj, plural=True)
        if parts[0] == "def" and parts[1] == "pl":
            return de_np(self.noun, "def", parts[2], adj=self.adj, plural=True)
        return de_np(self.noun, parts[0], parts[1], adj=self.adj)


@dataclasses.dataclass(frozen=True)
class Template:
    """English and German format strings over the same named slots.

    ``{name}`` / ``{name:spec}`` is filled with ``slot.en(spec)`` / ``slot.de(spec)``. ``slots``
    maps each name to a sampler ``(rng, style) -> Filler``; several names may share a sampler
    (distinct values are drawn for ``a``/``b`` pairs via ``distinct``).
    """

    en: str
    de: str
    slots: dict[str, Callable[[random.Random, str], Filler]] = dataclasses.field(default_factory=dict)
    distinct: tuple[str, ...] = ()

    def sample(self, rng: random.Random, style: str) -> tuple[str, str]:
        """Draw slot values and render ``(english, german)``."""
        for _ in range(20):
            values = {name: gen(rng, style) for name, gen in self.slots.items()}
            if len({values[n].en("") if isinstance(values[n], NP) else repr(values[n])
                    for n in self.distinct}) == len(self.distinct):
                break
        return _render(self.en, values, "en"), _render(self.de, values, "de")


@dataclasses.dataclass(frozen=True)
class Func:
    """A template written as a function ``(rng, style) -> (english, german)``."""

    fn: Callable[[random.Random, str], tuple[str, str]]

    def sample(self, rng: random.Random, style: str) -> tuple[str, str]:
        return self.fn(rng, style)


class _SlotFormatter(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        return value.en(format_spec) if self.lang == "en" else value.de(format_spec)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _render(fmt: str, values: dict[str, Filler], lang: str) -> str:
    text = _SlotFormatter(lang).vformat(fmt, (), values)
    return _capitalise(" ".join(text.split()))


# ---------------------------------------------------------------------------- samplers


def pick(items: Sequence[Any]) -> Callable[[random.Random, str], Filler]:
    """Sampler over nouns (-> NP), (en, de) pairs (-> Fixed) or Fillers."""

    def gen(rng: random.Random, style: str) -> Filler:
        item = rng.choice(items)
        if isinstance(item, Noun):
            return NP(item, style=style)
        if isinstance(item, Filler):
            return item
        return Fixed(*item)

    return gen


def np_with_adj(nouns: Sequence[Noun], adjs: Sequence[Adj]) -> Callable[[random.Random, str], Filler]:
    def gen(rng: random.Random, style: str) -> Filler:
        return NP(rng.choice(nouns), rng.choice(adjs), style=style)

    return gen


def np_count(nouns: Sequence[Noun], low: int = 1, high: int = 30) -> Callable[[random.Random, str], Filler]:
    def gen(rng: random.Random, style: str) -> Filler:
        count = 1 if rng.random() < 0.2 and low <= 1 else sample_number(rng, max(low, 2), high)
        return NP(rng.choice(nouns), count=count, style=style)

    return gen


def quantity(low: int = 2, high: int = 9999) -> Callable[[random.Random, str], Filler]:
    """A bare number: English words, German per style."""

    def gen(rng: random.Random, style: str) -> Filler:
        n = sample_number(rng, low, high)
        return Fixed(en_cardinal(n, rng.random() < 0.5), de_quantity(n, style))

    return gen


def ident(low: int = 1, high: int = 99) -> Callable[[random.Random, str], Filler]:
    """An identifier number (platform, room, page)."""

    def gen(rng: random.Random, style: str) -> Filler:
        n = rng.randint(low, high)
        return Fixed(en_cardinal(n, rng.random() < 0.5), de_ident(n, style))

    return gen


# ============================================================================ vocabulary

PLACES = [
    N("station", "Bahnhof", "m", "Bahnhöfe"), N("post office", "Post", "f", "Postämter"),
    N("bank", "Bank", "f", "Banken"), N("pharmacy", "Apotheke", "f", "Apotheken", "pharmacies"),
    N("hospital", "Krankenhaus", "n", "Krankenhäuser"), N("museum", "Museum", "n", "Museen"),
    N("hotel", "Hotel", "n", "Hotels"), N("church", "Kirche", "f", "Kirchen", "churches"),
    N("supermarket", "Supermarkt", "m", "Supermärkte"), N("bakery", "Bäckerei", "f", "Bäckereien",
                                                          "bakeries"),
    N("airport", "Flughafen", "m", "Flughäfen"), N("bus stop", "Bushaltestelle", "f", "Bushaltestellen"),
    N("park", "Park", "m", "Parks"), N("library", "Bibliothek", "f", "Bibliotheken", "libraries"),
    N("town hall", "Rathaus", "n", "Rathäuser"), N("cinema", "Kino", "n", "Kinos"),
    N("restaurant", "Restaurant", "n", "Restaurants"), N("market square", "Marktplatz", "m", "Marktplätze"),
    N("beach", "Strand", "m", "Strände", "beaches"), N("university", "Universität", "f", "Universitäten",
                                                          "universities", an=False),
    N("school", "Schule", "f", "Schulen"), N("police station", "Polizeiwache", "f", "Polizeiwachen"),
    N("petrol station", "Tankstelle", "f", "Tankstellen"), N("theatre", "Theater", "n", "Theater"),
    N("castle", "Schloss", "n", "Schlösser"), N("zoo", "Zoo", "m", "Zoos"),
    N("swimming pool", "Schwimmbad", "n", "Schwimmbäder"), N("underground station", "U-Bahn-Station", "f",
                                                               "U-Bahn-Stationen", an=True),
    N("car park", "Parkplatz", "m", "Parkplätze"), N("café", "Café", "n", "Cafés"),
]
LANDMARKS = [
    N("traffic light", "Ampel", "f", "Ampeln"), N("crossroads", "Kreuzung", "f", "Kreuzungen", "crossroads"),
    N("roundabout", "Kreisverkehr", "m", "Kreisverkehre"), N("church", "Kirche", "f", "Kirchen", "churches"),
    N("bridge", "Brücke", "f", "Brücken"), N("bakery", "Bäckerei", "f", "Bäckereien", "bakeries"),
    N("town hall", "Rathaus", "n", "Rathäuser"), N("station", "Bahnhof", "m", "Bahnhöfe"),
    N("fountain", "Brunnen", "m", "Brunnen"), N("petrol station", "Tankstelle", "f", "Tankstellen"),
]
CROSSABLE = [N("street", "Straße", "f", "Straßen"), N("bridge", "Brücke", "f", "Brücken"),
             N("square", "Platz", "m", "Plätze"), N("park", "Park", "m", "Parks"),
             N("river", "Fluss", "m", "Flüsse"), N("railway line", "Bahnlinie", "f", "Bahnlinien")]
SHOPS = [p for p in PLACES if p.en in ("post office", "bank", "pharmacy", "museum", "supermarket", "bakery",
                                       "library", "cinema", "restaurant", "swimming pool", "zoo", "café")]

FOOD = [
    N("apple", "Apfel", "m", "Äpfel"), N("banana", "Banane", "f", "Bananen"),
    N("tomato", "Tomate", "f", "Tomaten", "tomatoes"), N("potato", "Kartoffel", "f", "Kartoffeln",
                                                         "potatoes"),
    N("orange", "Orange", "f", "Orangen"), N("lemon", "Zitrone", "f", "Zitronen"),
    N("egg", "Ei", "n", "Eier"),
    N("bread roll", "Brötchen", "n", "Brötchen"), N("onion", "Zwiebel", "f", "Zwiebeln"),
    N("carrot", "Karotte", "f", "Karotten"), N("cucumber", "Gurke", "f", "Gurken"),
    N("pear", "Birne", "f", "Birnen"), N("sandwich", "Sandwich", "n", "Sandwiches", "sandwiches"),
    N("pretzel", "Brezel", "f", "Brezeln"), N("melon", "Melone", "f", "Melonen"),
    N("peach", "Pfirsich", "m", "Pfirsiche", "peaches"), N("croissant", "Croissant", "n", "Croissants"),
]
CLOTHES = [
    N("shirt", "Hemd", "n", "Hemden"), N("jacket", "Jacke", "f", "Jacken"),
    N("coat", "Mantel", "m", "Mäntel"),
    N("dress", "Kleid", "n", "Kleider", "dresses"), N("skirt", "Rock", "m", "Röcke"),
    N("sweater", "Pullover", "m", "Pullover"), N("hat", "Hut", "m", "Hüte"),
    N("scarf", "Schal", "m", "Schals"),
    N("bag", "Tasche", "f", "Taschen"), N("T-shirt", "T-Shirt", "n", "T-Shirts"),
    N("belt", "Gürtel", "m", "Gürtel"),
    N("blouse", "Bluse", "f", "Blusen"), N("tie", "Krawatte", "f", "Krawatten"),
]
COLOURS = [Adj("red", "rot"), Adj("blue", "blau"), Adj("green", "grün"), Adj("black", "schwarz"),
           Adj("white", "weiß"), Adj("yellow", "gelb"), Adj("grey", "grau"), Adj("brown", "braun")]
COLOUR_NOUNS = [("red", "Rot"), ("blue", "Blau"), ("green", "Grün"), ("black", "Schwarz"), ("white", "Weiß"),
                ("yellow", "Gelb"), ("grey", "Grau"), ("brown", "Braun")]
SIZE_ADJS = [Adj("big", "groß"), Adj("small", "klein"), Adj("cheap", "billig"), Adj("expensive", "teur"),
             Adj("new", "neu"), Adj("old", "alt")]
PREDICATES_SIZE = [("big", "groß"), ("small", "klein"), ("long", "lang"), ("short", "kurz"),
                   ("expensive", "teuer"), ("tight", "eng"), ("wide", "weit")]
DRINKS = [N("coffee", "Kaffee", "m", "Kaffees"), N("tea", "Tee", "m", "Tees"),
          N("beer", "Bier", "n", "Biere"),
          N("juice", "Saft", "m", "Säfte"), N("mineral water", "Mineralwasser", "n", "Mineralwasser"),
          N("lemonade", "Limonade", "f", "Limonaden"), N("cola", "Cola", "f", "Colas"),
          N("cappuccino", "Cappuccino", "m", "Cappuccinos"),
          N("glass of wine", "Glas Wein", "n", "Gläser Wein",
                                                                "glasses of wine")]
MEASURES = [
    (N("bottle", "Flasche", "f", "Flaschen"), [("water", "Wasser"), ("wine", "Wein"), ("milk", "Milch"),
                                               ("orange juice", "Orangensaft"), ("olive oil", "Olivenöl")]),
    (N("cup", "Tasse", "f", "Tassen"), [("coffee", "Kaffee"), ("tea", "Tee"), ("hot chocolate", "Kakao")]),
    (N("glass", "Glas", "n", "Glas", "glasses"), [("water", "Wasser"), ("wine", "Wein"), ("milk", "Milch"),
                                                  ("apple juice", "Apfelsaft")]),
    (N("kilo", "Kilo", "n", "Kilo"), [("apples", "Äpfel"), ("potatoes", "Kartoffeln"),
                                      ("tomatoes", "Tomaten"),
                                      ("flour", "Mehl"), ("sugar", "Zucker"), ("rice", "Reis")]),
    (N("piece", "Stück", "n", "Stück"), [("cake", "Kuchen"), ("cheese", "Käse"), ("butter", "Butter")]),
    (N("packet", "Packung", "f", "Packungen"), [("rice", "Reis"), ("coffee", "Kaffee"), ("tea", "Tee"),
                                                ("pasta", "Nudeln"), ("biscuits", "Kekse")]),
    (N("can", "Dose", "f", "Dosen"), [("tomatoes", "Tomaten"), ("beans", "Bohnen"), ("tuna", "Thunfisch"),
                                      ("cola", "Cola")]),
]
DISHES = [N("soup", "Suppe", "f", "Suppen"), N("coffee", "Kaffee", "m", "Kaffees"),
          N("steak", "Steak", "n", "Steaks"),
          N("fish", "Fisch", "m", "Fische", "fish"), N("salad", "Salat", "m", "Salate"),
          N("pizza", "Pizza", "f", "Pizzen"), N("tea", "Tee", "m", "Tees"), N("sauce", "Soße", "f", "Soßen"),
          N("meat", "Fleisch", "n", "Fleisch"), N("cake", "Kuchen", "m", "Kuchen")]
TASTES = [("cold", "kalt"), ("too hot", "zu heiß"), ("too salty", "zu salzig"), ("too sweet", "zu süß"),
          ("very spicy", "sehr scharf"), ("delicious", "lecker"), ("excellent", "ausgezeichnet")]
ROOM_THINGS = [N("shower", "Dusche", "f", "Duschen"), N("heating", "Heizung", "f", "Heizungen"),
               N("light", "Licht", "n", "Lichter"), N("television", "Fernseher", "m", "Fernseher"),
               N("air conditioning", "Klimaanlage", "f", "Klimaanlagen", an=True),
               N("internet", "Internet", "n", "Internet", an=True), N("toilet", "Toilette", "f", "Toiletten"),
               N("fridge", "Kühlschrank", "m", "Kühlschränke"), N("hair dryer", "Föhn", "m", "Föhne"),
               N("lamp", "Lampe", "f", "Lampen"), N("radio", "Radio", "n", "Radios")]
BUILDING_THINGS = [N("lift", "Aufzug", "m", "Aufzüge"), N("reception", "Rezeption", "f", "Rezeptionen"),
                   N("exit", "Ausgang", "m", "Ausgänge"), N("entrance", "Eingang", "m", "Eingänge"),
                   N("toilet", "Toilette", "f", "Toiletten"), N("breakfast room", "Frühstücksraum", "m",
                                                                "Frühstücksräume"),
                   N("stairs", "Treppe", "f", "Treppen", "stairs"), N("cash desk", "Kasse", "f", "Kassen"),
                   N("waiting room", "Wartezimmer", "n", "Wartezimmer"), N("car park", "Parkplatz", "m",
                                                                           "Parkplätze")]
EXTRA_THINGS = [N("towel", "Handtuch", "n", "Handtücher"), N("pillow", "Kissen", "n", "Kissen"),
                N("blanket", "Decke", "f", "Decken"), N("glass", "Glas", "n", "Gläser", "glasses"),
                N("spoon", "Löffel", "m", "Löffel"), N("fork", "Gabel", "f", "Gabeln"),
                N("knife", "Messer", "n", "Messer", "knives"), N("plate", "Teller", "m", "Teller"),
                N("napkin", "Serviette", "f", "Servietten"), N("chair", "Stuhl", "m", "Stühle"),
                N("map", "Karte", "f", "Karten")]
LOST_THINGS = [N("passport", "Pass", "m", "Pässe", "passports"), N("wallet", "Geldbörse", "f", "Geldbörsen"),
               N("key", "Schlüssel", "m", "Schlüssel"), N("phone", "Handy", "n", "Handys"),
               N("bag", "Tasche", "f", "Taschen"), N("ticket", "Fahrkarte", "f", "Fahrkarten"),
               N("umbrella", "Regenschirm", "m", "Regenschirme"), N("camera", "Kamera", "f", "Kameras"),
               N("suitcase", "Koffer", "m", "Koffer"), N("watch", "Uhr", "f", "Uhren", "watches"),
               N("jacket", "Jacke", "f", "Jacken"), N("credit card", "Kreditkarte", "f", "Kreditkarten")]
COUNTABLES = [
    N("ticket", "Fahrkarte", "f", "Fahrkarten"), N("room", "Zimmer", "n", "Zimmer"),
    N("chair", "Stuhl", "m", "Stühle"),
    N("book", "Buch", "n", "Bücher"), N("bottle", "Flasche", "f", "Flaschen"),
    N("child", "Kind", "n", "Kinder",
                                                                                 "children"),
    N("car", "Auto", "n", "Autos"), N("bicycle", "Fahrrad", "n", "Fahrräder"),
    N("house", "Haus", "n", "Häuser"),
    N("student", "Student", "m", "Studenten"), N("table", "Tisch", "m", "Tische"), N("minute", "Minute", "f",
                                                                                   "Minuten"),
    N("day", "Tag", "m", "Tage"), N("week", "Woche", "f", "Wochen"), N("dog", "Hund", "m", "Hunde"),
    N("cat", "Katze", "f", "Katzen"), N("question", "Frage", "f", "Fragen"),
    N("letter", "Brief", "m", "Briefe"),
    N("seat", "Platz", "m", "Plätze"), N("bed", "Bett", "n", "Betten"), N("page", "Seite", "f", "Seiten"),
    N("stamp", "Briefmarke", "f", "Briefmarken"), N("postcard", "Postkarte", "f", "Postkarten"),
    N("glass", "Glas", "n", "Gläser", "glasses"), N("euro coin", "Euromünze", "f", "Euromünzen", an=False),
    N("photo", "Foto", "n", "Fotos"), N("suitcase", "Koffer", "m", "Koffer"), N("key", "Schlüssel", "m",
                                                                                "Schlüssel"),
    N("apple", "Apfel", "m", "Äpfel"), N("egg", "Ei", "n", "Eier"),
]
TABLE_THINGS = [n for n in COUNTABLES if n.en in ("book", "letter", "key", "apple", "egg", "photo", "stamp",
                                                  "postcard", "euro coin", "ticket")]
BODY = [N("head", "Kopf", "m", "Köpfe"), N("back", "Rücken", "m", "Rücken"),
        N("stomach", "Bauch", "m", "Bäuche"),
        N("arm", "Arm", "m", "Arme"), N("leg", "Bein", "n", "Beine"), N("foot", "Fuß", "m", "Füße", "feet"),
        N("hand", "Hand", "f", "Hände"), N("knee", "Knie", "n", "Knie"), N("throat", "Hals", "m", "Hälse"),
        N("tooth", "Zahn", "m", "Zähne", "teeth"), N("ear", "Ohr", "n", "Ohren"),
        N("eye", "Auge", "n", "Augen")]
PAIRED_BODY = [n for n in BODY if n.en in ("arm", "leg", "foot", "hand", "knee", "ear", "eye")]
RELATIVES = [N("brother", "Bruder", "m", "Brüder"), N("sister", "Schwester", "f", "Schwestern"),
             N("mother", "Mutter", "f", "Mütter"), N("father", "Vater", "m", "Väter"),
             N("wife", "Frau", "f", "Frauen", "wives"), N("husband", "Mann", "m", "Männer"),
             N("son", "Sohn", "m", "Söhne"), N("daughter", "Tochter", "f", "Töchter"),
             N("grandmother", "Großmutter", "f", "Großmütter"),
             N("grandfather", "Großvater", "m", "Großväter"),
             N("uncle", "Onkel", "m", "Onkel"), N("aunt", "Tante", "f", "Tanten")]
CITIES = [("Berlin", "Berlin"), ("Munich", "München"), ("Vienna", "Wien"), ("Cologne", "Köln"),
          ("Hamburg", "Hamburg"), ("Frankfurt", "Frankfurt"), ("Zurich", "Zürich"), ("Geneva", "Genf"),
          ("London", "London"), ("Paris", "Paris"), ("Rome", "Rom"), ("Milan", "Mailand"), ("Prague", "Prag"),
          ("Warsaw", "Warschau"), ("Brussels", "Brüssel"), ("Amsterdam", "Amsterdam"),
          ("Copenhagen", "Kopenhagen"), ("Lisbon", "Lissabon"), ("Athens", "Athen"), ("Venice", "Venedig"),
          ("Dresden", "Dresden"), ("Stuttgart", "Stuttgart"), ("Salzburg", "Salzburg"), ("Lucerne", "Luzern"),
          ("Nuremberg", "Nürnberg"), ("Leipzig", "Leipzig"), ("Bonn", "Bonn"), ("Madrid", "Madrid"),
          ("Edinburgh", "Edinburgh"), ("Florence", "Florenz")]
# (English, German, article): "f"/"pl" countries take the article in every case ("aus der Schweiz").
COUNTRIES = [("Germany", "Deutschland", ""), ("Austria", "Österreich", ""), ("Switzerland", "Schweiz", "f"),
             ("France", "Frankreich", ""), ("Italy", "Italien", ""), ("Spain", "Spanien", ""),
             ("England", "England", ""), ("Scotland", "Schottland", ""), ("Ireland", "Irland", ""),
             ("the United States", "USA", "pl"), ("Canada", "Kanada", ""), ("Australia", "Australien", ""),
             ("Japan", "Japan", ""), ("China", "China", ""), ("the Netherlands", "Niederlande", "pl"),
             ("Turkey", "Türkei", "f"), ("Poland", "Polen", ""), ("Sweden", "Schweden", ""),
             ("Norway", "Norwegen", ""), ("Greece", "Griechenland", ""), ("Portugal", "Portugal", ""),
             ("Brazil", "Brasilien", ""), ("India", "Indien", ""), ("Mexico", "Mexiko", ""),
             ("Denmark", "Dänemark", ""), ("Hungary", "Ungarn", "")]
LANGUAGES = [("English", "Englisch"), ("German", "Deutsch"), ("French", "Französisch"),
             ("Spanish", "Spanisch"),
             ("Italian", "Italienisch"), ("Russian", "Russisch"), ("Chinese", "Chinesisch"),
             ("Japanese", "Japanisch"), ("Turkish", "Türkisch"), ("Dutch", "Niederländisch"),
             ("Polish", "Polnisch"), ("Portuguese", "Portugiesisch"), ("Arabic", "Arabisch"),
             ("Greek", "Griechisch"), ("Swedish", "Schwedisch")]
NAMES = [(n, n) for n in ("Anna", "Maria", "Peter", "Thomas", "Michael", "Julia", "Laura", "Paul", "David",
                          "Sarah", "Lisa", "Daniel", "Martin", "Sophie", "Emma", "Tom", "Lena", "Jonas",
                          "Clara", "Felix", "Hannah", "Lukas", "Emily", "Oliver", "Sophia", "Ben")]
DAYS = [("Monday", "Montag"), ("Tuesday", "Dienstag"), ("Wednesday", "Mittwoch"), ("Thursday", "Donnerstag"),
        ("Friday", "Freitag"), ("Saturday", "Samstag"), ("Sunday", "Sonntag")]
MONTHS = [("January", "Januar", 31), ("February", "Februar", 28), ("March", "März", 31),
          ("April", "April", 30),
          ("May", "Mai", 31), ("June", "Juni", 30), ("July", "Juli", 31), ("August", "August", 31),
          ("September", "September", 30), ("October", "Oktober", 31), ("November", "November", 30),
          ("December", "Dezember", 31)]
COMPASS = [("north", "Norden"), ("south", "Süden"), ("east", "Osten"), ("west", "Westen")]

# ---------------------------------------------------------------------------- compound samplers


def country(rng: random.Random, style: str) -> Filler:
    """Forms: "" (name), "aus" (from), "in" (location), "nach" (direction)."""
    en, de, art = rng.choice(COUNTRIES)
    if art == "f":
        forms = {"": f"die {de}", "aus": f"aus der {de}", "in": f"in der {de}", "nach": f"in die {de}"}
    elif art == "pl":
        dat = de if de.endswith(("n", "s", "A")) else de + "n"  # die Niederlande, in den Niederlanden
        forms = {"": f"die {de}", "aus": f"aus den {dat}", "in": f"in den {dat}", "nach": f"in die {de}"}
    else:
        forms = {"": de, "aus": f"aus {de}", "in": f"in {de}", "nach": f"nach {de}"}
    return Forms({"": en}, forms)


def day(rng: random.Random, style: str) -> Filler:
    """Forms: "" (Monday/Montag), "on" (on Monday/am Montag), "every" (on Mondays/montags)."""
    en, de = rng.choice(DAYS)
    return Forms({"": en, "on": f"on {en}", "every": f"on {en}s"},
                 {"": de, "on": f"am {de}", "every": de.lower() + "s"})


def future_time(rng: random.Random, style: str) -> Filler:
    """A future time adverb ("tomorrow" / "morgen", "on Friday" / "am Freitag")."""
    choices = [("tomorrow", "morgen"), ("next week", "nächste Woche"), ("next month", "nächsten Monat"),
               ("at the weekend", "am Wochenende"), ("in the summer", "im Sommer"),
               ("in the winter", "im Winter"), ("next year", "nächstes Jahr"), ("tonight", "heute Abend"),
               ("the day after tomorrow", "übermorgen"), ("tomorrow morning", "morgen früh")]
    if rng.random() < 0.4:
        en, de = rng.choice(DAYS)
        return Fixed(f"on {en}", f"am {de}")
    return Fixed(*rng.choice(choices))


def person_group(rng: random.Random, style: str) -> Filler:
    """A group size (2..20) for 'for N people' / 'für N Personen'."""
    n = rng.randint(2, 20)
    return Fixed(en_cardinal(n), de_quantity(n, style))


# ---- times


def clock_time(rng: random.Random, style: str) -> Filler:
    """A time without preposition; English words, German per the conventions in the module doc."""
    if rng.random() < 0.55:
        hour = rng.randint(1, 12)
        nxt = hour % 12 + 1
        kind = rng.choice(["oclock", "half", "quarter_past", "quarter_to", "past", "to"])
        h_de, n_de = de_cardinal(hour), de_cardinal(nxt)
        if kind == "oclock":
            return Fixed(f"{en_cardinal(hour)} o'clock", f"{de_cardinal(hour, final=False)} Uhr")
        if kind == "half":
            return Fixed(f"half past {en_cardinal(hour)}", f"halb {n_de}")
        q = rng.choice(["a quarter", "quarter"])
        if kind == "quarter_past":
            return Fixed(f"{q} past {en_cardinal(hour)}", f"Viertel nach {h_de}")
        if kind == "quarter_to":
            return Fixed(f"{q} to {en_cardinal(nxt)}", f"Viertel vor {n_de}")
        minutes = rng.choice([5, 10, 20])
        if kind == "past":
            return Fixed(f"{en_cardinal(minutes)} past {en_cardinal(hour)}",
                         f"{de_cardinal(minutes)} nach {h_de}")
        return Fixed(f"{en_cardinal(minutes)} to {en_cardinal(nxt)}", f"{de_cardinal(minutes)} vor {n_de}")
    # Digital: 24-hour ("eighteen forty") or 12-hour with a part of the day.
    minute = rng.randrange(5, 60, 5) if rng.random() < 0.6 else rng.randint(1, 59)
    en_min = f"oh {en_cardinal(minute)}" if minute < 10 else en_cardinal(minute)
    part = rng.choice(["", "", "morning", "afternoon", "evening"])
    if part == "morning":
        hour = rng.randint(5, 11)
        en = f"{en_cardinal(hour)} {en_min} in the morning"
    elif part == "afternoon":
        hour = rng.randint(13, 17)
        en = f"{en_cardinal(hour - 12)} {en_min} in the afternoon"
    elif part == "evening":
        hour = rng.randint(18, 23)
        en = f"{en_cardinal(hour - 12)} {en_min} in the evening"
    else:
        hour = rng.randint(1, 23)
        en = f"{en_cardinal(hour)} {en_min}"
    if style == "words":
        de = f"{de_cardinal(hour, final=False)} Uhr {de_cardinal(minute)}"
    else:
        de = f"{hour}:{minute:02d} Uhr"
    return Fixed(en, de)


# ---- dates


def date(rng: random.Random, style: str, with_year: float = 0.15) -> Forms:
    """A date. German forms: "nom" (der fünfte Mai), "am", "bis" (bis zum), "seit" (seit dem), "vom"."""
    month_en, month_de, days = rng.choice(MONTHS)
    d = rng.randint(1, days)
    en_ord = en_ordinal(d)
    shape = rng.random()
    if shape < 0.6:
        en = f"the {en_ord} of {month_en}"
    elif shape < 0.8:
        en = f"{month_en} the {en_ord}"
    else:
        en = f"{month_en} {en_ord}"
    stem = de_ordinal_stem(d)
    year_en = year_de = ""
    if rng.random() < with_year:
        year = rng.randint(1950, 2030)
        year_en, year_de = " " + en_year(year, rng), " " + de_year(year, style)
    return Forms(
        {"": en + year_en, "on": "on " + en + year_en},
        {"nom": f"der {stem}e {month_de}{year_de}", "am": f"am {stem}en {month_de}{year_de}",
         "bis": f"bis zum {stem}en {month_de}{year_de}", "seit": f"seit dem {stem}en {month_de}{year_de}",
         "vom": f"vom {stem}en {month_de}{year_de}"},
    )


def date_no_year(rng: random.Random, style: str) -> Forms:
    return date(rng, style, with_year=0.0)


def year(rng: random.Random, style: str) -> Filler:
    y = rng.randint(1800, 2030)
    return Fixed(en_year(y, rng), de_year(y, style))


def date_range(rng: random.Random, style: str) -> Filler:
    """'from the first to the fifth of May' / 'vom ersten bis zum fünften Mai'."""
    month_en, month_de, days = rng.choice(MONTHS)
    a = rng.randint(1, days - 1)
    b = rng.randint(a + 1, min(days, a + 20))
    en = f"from the {en_ordinal(a)} to the {en_ordinal(b)} of {month_en}"
    de = f"vom {de_ordinal_stem(a)}en bis zum {de_ordinal_stem(b)}en {month_de}"
    return Fixed(en, de)


# ---- prices

_CURRENCIES = [  # English singular/plural, German, German accusative of "one <currency>", weight
    ("euro", "euros", "Euro", "einen Euro", 0.7),
    ("dollar", "dollars", "Dollar", "einen Dollar", 0.15),
    ("pound", "pounds", "Pfund", "ein Pfund", 0.15),
]


def price(rng: random.Random, style: str) -> Filler:
    """An amount of money, German in the accusative (all price frames use it: kosten, betragen, für)."""
    en_sg, en_pl, de_cur, de_one, _ = rng.choices(_CURRENCIES, weights=[c[-1] for c in _CURRENCIES])[0]
    r = rng.random()
    if r < 0.45:
        units = rng.randint(1, 20)
    elif r < 0.8:
        units = rng.randint(21, 100)
    elif r < 0.95:
        units = rng.randint(101, 999)
    else:
        units = rng.randint(1000, 9999)
    cents = 0
    if rng.random() < 0.55 and units < 1000:
        cents = rng.randrange(5, 100, 5) if rng.random() < 0.7 else rng.randint(1, 99)
    if en_sg != "pound" and rng.random() < 0.05:
        units, cents = 0, rng.randrange(5, 100, 5)
    use_and = rng.random() < 0.5
    en_units = f"{en_cardinal(units, use_and)} {en_sg if units == 1 else en_pl}"
    cent_word = "pence" if en_sg == "pound" else "cents"
    if units == 0:
        en = f"{en_cardinal(cents)} {'cent' if cents == 1 else cent_word}"
        de = f"{de_quantity(cents, style)} Cent" if style == "mixed" else f"{de_cardinal(cents)} Cent"
        if en_sg == "pound":
            de = de.replace("Cent", "Pence")
        return Fixed(en, de)
    if cents == 0:
        en = en_units
    elif rng.random() < 0.25:
        en = f"{en_units} and {en_cardinal(cents)} {'cent' if cents == 1 else cent_word}"
    else:
        en = f"{en_units} {en_cardinal(cents)}"
    if style == "words":
        de_units = de_one if units == 1 else f"{de_cardinal(units)} {de_cur}"
        de = de_units if cents == 0 else f"{de_units} {de_cardinal(cents)}"
    elif cents:
        de = f"{units},{cents:02d} {de_cur}"
    else:
        de = de_one if units == 1 else f"{de_quantity(units, style)} {de_cur}"
    return Fixed(en, de)


# ---- activities, actions


ACTIVITIES = [  # English -ing, German 1st person singular (+ object after "gern"), German infinitive
    ("swimming", "schwimme", "", "schwimmen"), ("reading", "lese", "", "lesen"),
    ("cooking", "koche", "", "kochen"),
    ("dancing", "tanze", "", "tanzen"), ("singing", "singe", "", "singen"),
    ("travelling", "reise", "", "reisen"),
    ("hiking", "wandere", "", "wandern"), ("playing football", "spiele", "Fußball", "spielen"),
    ("playing tennis", "spiele", "Tennis", "spielen"), ("cycling", "fahre", "Fahrrad", "fahren"),
    ("painting", "male", "", "malen"), ("playing the piano", "spiele", "Klavier", "spielen"),
    ("playing chess", "spiele", "Schach", "spielen"), ("skiing", "fahre", "Ski", "fahren"),
    ("taking photos", "fotografiere", "", "fotografieren"), ("baking", "backe", "", "backen"),
]


def activity(rng: random.Random, style: str) -> Filler:
    """Forms: en "" (-ing); de "ich" (schwimme gern), "wir" (schwimmen gern), "Sie?" (Schwimmen Sie gern)."""
    en, first, obj, inf = rng.choice(ACTIVITIES)
    tail = f" {obj}" if obj else ""
    return Forms({"": en}, {"ich": f"{first} gern{tail}", "wir": f"{inf} gern{tail}",
                            "sie_q": f"{inf} Sie gern{tail}"})


# (English imperative phrase, German infinitive phrase, German Sie-imperative phrase)
ACTIONS = [
    ("open the window", "das Fenster öffnen", "öffnen Sie das Fenster"),
    ("close the door", "die Tür schließen", "schließen Sie die Tür"),
    ("close the window", "das Fenster schließen", "schließen Sie das Fenster"),
    ("turn on the light", "das Licht anmachen", "machen Sie das Licht an"),
    ("turn off the light", "das Licht ausmachen", "machen Sie das Licht aus"),
    ("turn off the music", "die Musik ausmachen", "machen Sie die Musik aus"),
    ("repeat that", "das wiederholen", "wiederholen Sie das"),
    ("speak more slowly", "langsamer sprechen", "sprechen Sie langsamer"),
    ("speak a little louder", "etwas lauter sprechen", "sprechen Sie etwas lauter"),
    ("help me", "mir helfen", "helfen Sie mir"),
    ("call a taxi", "ein Taxi rufen", "rufen Sie ein Taxi"),
    ("call a doctor", "einen Arzt rufen", "rufen Sie einen Arzt"),
    ("call the police", "die Polizei rufen", "rufen Sie die Polizei"),
    ("bring me the menu", "mir die Speisekarte bringen", "bringen Sie mir die Speisekarte"),
    ("bring me the bill", "mir die Rechnung bringen", "bringen Sie mir die Rechnung"),
    ("wait a moment", "einen Moment warten", "warten Sie einen Moment"),
    ("write that down", "das aufschreiben", "schreiben Sie das auf"),
    ("show me the way", "mir den Weg zeigen", "zeigen Sie mir den Weg"),
    ("show me that on the map", "mir das auf der Karte zeigen", "zeigen Sie mir das auf der Karte"),
    ("take a photo of us", "ein Foto von uns machen", "machen Sie ein Foto von uns"),
    ("give me a receipt", "mir eine Quittung geben", "geben Sie mir eine Quittung"),
    ("explain that again", "das noch einmal erklären", "erklären Sie das noch einmal"),
    ("spell your name", "Ihren Namen buchstabieren", "buchstabieren Sie Ihren Namen"),
    ("call me tomorrow", "mich morgen anrufen", "rufen Sie mich morgen an"),
    ("send me an email", "mir eine E-Mail schicken", "schicken Sie mir eine E-Mail"),
    ("fill in this form", "dieses Formular ausfüllen", "füllen Sie dieses Formular aus"),
    ("sign here", "hier unterschreiben", "unterschreiben Sie hier"),
    ("show me your passport", "mir Ihren Pass zeigen", "zeigen Sie mir Ihren Pass"),
    ("take a seat", "Platz nehmen", "nehmen Sie Platz"),
    ("come in", "hereinkommen", "kommen Sie herein"),
    ("carry my suitcase", "meinen Koffer tragen", "tragen Sie meinen Koffer"),
    ("check the tyres", "die Reifen prüfen", "prüfen Sie die Reifen"),
    ("book a table for tonight", "einen Tisch für heute Abend reservieren",
     "reservieren Sie einen Tisch für heute Abend"),
    ("stop here", "hier anhalten", "halten Sie hier an"),
    ("drive more slowly", "langsamer fahren", "fahren Sie langsamer"),
    ("open your mouth", "den Mund öffnen", "öffnen Sie den Mund"),
    ("lock the door", "die Tür abschließen", "schließen Sie die Tür ab"),
]


def action(rng: random.Random, style: str) -> Filler:
    """A request: en "" (imperative); de "inf" (infinitive phrase), "imp" (Sie-imperative)."""
    if rng.random() < 0.15:
        t = clock_time(rng, style)
        return _action_forms(f"wake me up at {t.en('')}", f"mich um {t.de('')} wecken",
                             f"wecken Sie mich um {t.de('')}")
    if rng.random() < 0.1:
        thing = NP(rng.choice(EXTRA_THINGS), style=style)
        return _action_forms(f"bring me {thing.en('a')}", f"mir {thing.de('indef_acc')} bringen",
                             f"bringen Sie mir {thing.de('indef_acc')}")
    en, inf, imp = rng.choice(ACTIONS)
    return _action_forms(en, inf, imp)


def _action_forms(en: str, inf: str, imp: str) -> Forms:
    """Add "bitte_inf": "bitte" after a leading pronoun ("mir bitte helfen"), else before the phrase."""
    words = inf.split()
    if words[0] in ("mir", "mich", "uns", "das") and len(words) > 1:
        bitte = " ".join([words[0], "bitte", *words[1:]])
    else:
        bitte = "bitte " + inf
    return Forms({"": en}, {"inf": inf, "imp": imp, "bitte_inf": bitte})


SELF_ACTIONS = [  # things I/we want to do: English infinitive phrase, German infinitive phrase
    ("pay", "bezahlen"), ("order", "bestellen"), ("book a table", "einen Tisch reservieren"),
    ("check in", "einchecken"), ("check out", "auschecken"), ("rent a car", "ein Auto mieten"),
    ("open an account", "ein Konto eröffnen"), ("change money", "Geld wechseln"),
    ("see a doctor", "zum Arzt gehen"), ("make an appointment", "einen Termin vereinbaren"),
    ("speak to the manager", "mit dem Geschäftsführer sprechen"), ("send a parcel", "ein Paket schicken"),
    ("buy a ticket", "eine Fahrkarte kaufen"), ("try this on", "das anprobieren"),
    ("cancel the booking", "die Buchung stornieren"), ("go home", "nach Hause gehen"),
    ("sit by the window", "am Fenster sitzen"), ("leave a message", "eine Nachricht hinterlassen"),
    ("park here", "hier parken"), ("pay by card", "mit Karte bezahlen"), ("pay in cash", "bar bezahlen"),
    ("take the bus", "den Bus nehmen"), ("go for a walk", "spazieren gehen"), ("swim", "schwimmen"),
    ("go to the cinema", "ins Kino gehen"), ("visit the museum", "das Museum besuchen"),
    ("rent a bicycle", "ein Fahrrad mieten"), ("buy a map", "eine Karte kaufen"),
    ("stay another night", "noch eine Nacht bleiben"), ("learn German", "Deutsch lernen"),
]

PLACE_ACTIONS = [a for a in SELF_ACTIONS if a[0] in (
    "pay", "change money", "rent a car", "buy a ticket", "send a parcel", "rent a bicycle", "buy a map",
    "pay by card", "pay in cash", "leave a message", "swim", "check in", "try this on", "take the bus")]


# ============================================================================ templates

_V = Template  # short alias for the tables below


def _fixed(pairs: Sequence[tuple[str, str]]) -> list[Template]:
    return [_V(en, de) for en, de in pairs]


GREETINGS = _fixed([
    ("Good morning!", "Guten Morgen!"), ("Good evening!", "Guten Abend!"), ("Good night!", "Gute Nacht!"),
    ("Good afternoon!", "Guten Tag!"), ("Hello!", "Hallo!"), ("Goodbye!", "Auf Wiedersehen!"),
    ("See you tomorrow!", "Bis morgen!"), ("See you later!", "Bis später!"), ("See you soon!", "Bis bald!"),
    ("How are you?", "Wie geht es Ihnen?"), ("I am fine, thank you.", "Mir geht es gut, danke."),
    ("Not bad, and you?", "Nicht schlecht, und Ihnen?"),
    ("Nice to meet you.", "Freut mich, Sie kennenzulernen."),
    ("Thank you very much!", "Vielen Dank!"), ("Thank you.", "Danke."),
    ("You are welcome.", "Gern geschehen."),
    ("Excuse me.", "Entschuldigung."), ("I am sorry.", "Es tut mir leid."), ("No problem.", "Kein Problem."),
    ("Have a nice day!", "Einen schönen Tag noch!"), ("Have a nice weekend!", "Schönes Wochenende!"),
    ("Have a good trip!", "Gute Reise!"), ("Happy birthday!", "Alles Gute zum Geburtstag!"),
    ("Merry Christmas!", "Frohe Weihnachten!"), ("Happy New Year!", "Frohes neues Jahr!"),
    ("Welcome!", "Willkommen!"), ("Good luck!", "Viel Glück!"), ("Enjoy your meal!", "Guten Appetit!"),
    ("Cheers!", "Prost!"), ("Get well soon!", "Gute Besserung!"), ("Yes, please.", "Ja, bitte."),
    ("No, thank you.", "Nein, danke."), ("Of course.", "Natürlich."),
    ("I do not know.", "Ich weiß es nicht."),
    ("What is your name?", "Wie heißen Sie?"), ("Where are you from?", "Woher kommen Sie?"),
    ("Where do you live?", "Wo wohnen Sie?"), ("How old are you?", "Wie alt sind Sie?"),
    ("What do you do for a living?", "Was machen Sie beruflich?"), ("Help!", "Hilfe!"),
    ("Do you speak English?", "Sprechen Sie Englisch?"), ("I do not understand.", "Ich verstehe das nicht."),
    ("What does that mean?", "Was bedeutet das?"),
    ("I speak a little German.", "Ich spreche ein bisschen Deutsch."),
    ("Can you help me?", "Können Sie mir helfen?"), ("Just a moment, please.", "Einen Moment, bitte."),
    ("That is very kind of you.", "Das ist sehr nett von Ihnen."), ("I am lost.", "Ich habe mich verlaufen."),
    ("What time is it?", "Wie spät ist es?"), ("How long does it take?", "Wie lange dauert es?"),
    ("Sorry, I am late.", "Entschuldigung, ich bin spät dran."),
    ("Where is the toilet?", "Wo ist die Toilette?"),
    ("The bill, please.", "Die Rechnung, bitte."), ("The menu, please.", "Die Speisekarte, bitte."),
    ("Can we pay separately?", "Können wir getrennt bezahlen?"), ("Keep the change.", "Stimmt so."),
    ("It was delicious.", "Es war sehr lecker."), ("What do you recommend?", "Was empfehlen Sie?"),
    ("I do not eat meat.", "Ich esse kein Fleisch."), ("Is this seat free?", "Ist dieser Platz frei?"),
    ("Is breakfast included?", "Ist das Frühstück inbegriffen?"),
    ("Can I pay by card?", "Kann ich mit Karte bezahlen?"),
    ("I am just looking, thank you.", "Ich schaue nur, danke."), ("Where is the fitting room?",
                                                                   "Wo ist die Umkleidekabine?"),
    ("Do you have it in a bigger size?", "Haben Sie das eine Nummer größer?"),
    ("Do you have it in a smaller size?", "Haben Sie das eine Nummer kleiner?"),
    ("I need a doctor.", "Ich brauche einen Arzt."), ("Call an ambulance!", "Rufen Sie einen Krankenwagen!"),
    ("I have a headache.", "Ich habe Kopfschmerzen."), ("I have a cold.", "Ich bin erkältet."),
    ("I feel sick.", "Mir ist schlecht."), ("What day is it today?", "Welcher Tag ist heute?"),
    ("What is the date today?", "Welches Datum ist heute?"), ("How much is it?", "Wie viel kostet das?"),
    ("That is too expensive.", "Das ist zu teuer."), ("Do you have any change?", "Haben Sie Kleingeld?"),
    ("Where can I buy a ticket?", "Wo kann ich eine Fahrkarte kaufen?"), ("The train is late.",
                                                                          "Der Zug hat Verspätung."),
    ("Where is the next stop?", "Wo ist die nächste Haltestelle?"),
    ("Please sit down.", "Bitte setzen Sie sich."),
    ("I agree.", "Ich bin einverstanden."), ("Good idea!", "Gute Idee!"), ("Me too.", "Ich auch."),
    ("What is the weather like today?", "Wie ist das Wetter heute?"), ("It is raining.", "Es regnet."),
    ("It is snowing.", "Es schneit."), ("The sun is shining.", "Die Sonne scheint."),
    ("It is very cold today.", "Heute ist es sehr kalt."),
    ("Take an umbrella, it is going to rain.", "Nehmen Sie einen Regenschirm mit, es wird regnen."),
])

SOCIAL = [
    _V("My name is {n}.", "Ich heiße {n}.", {"n": pick(NAMES)}),
    _V("Good morning, {n}!", "Guten Morgen, {n}!", {"n": pick(NAMES)}),
    _V("Hello {n}, how are you?", "Hallo {n}, wie geht es Ihnen?", {"n": pick(NAMES)}),
    _V("Nice to meet you, {n}.", "Freut mich, Sie kennenzulernen, {n}.", {"n": pick(NAMES)}),
    _V("This is {n}.", "Das ist {n}.", {"n": pick(NAMES)}),
    _V("Please say hello to {n} from me.", "Grüßen Sie bitte {n} von mir.", {"n": pick(NAMES)}),
    _V("Is {n} at home?", "Ist {n} zu Hause?", {"n": pick(NAMES)}),
    _V("This is my {r}.", "Das ist {r:mein_nom}.", {"r": pick(RELATIVES)}),
    _V("This is my {r}, {n}.", "Das ist {r:mein_nom} {n}.", {"r": pick(RELATIVES), "n": pick(NAMES)}),
    _V("My {r} lives in {c}.", "{r:mein_nom} wohnt in {c}.", {"r": pick(RELATIVES), "c": pick(CITIES)}),
    _V("I am visiting my {r} {t}.", "Ich besuche {t} {r:mein_acc}.",
       {"r": pick(RELATIVES), "t": future_time}),
    _V("I am going to the cinema with my {r}.", "Ich gehe mit {r:mein_dat} ins Kino.",
       {"r": pick(RELATIVES)}),
    _V("I am travelling with my {r}.", "Ich reise mit {r:mein_dat}.", {"r": pick(RELATIVES)}),
    _V("Do you know my {r}?", "Kennen Sie {r:mein_acc}?", {"r": pick(RELATIVES)}),
    _V("Where is your {r}?", "Wo ist {r:Ihr_nom}?", {"r": pick(RELATIVES)}),
    _V("I come from {c}.", "Ich komme {c:aus}.", {"c": country}),
    _V("I live in {c}.", "Ich wohne {c:in}.", {"c": country}),
    _V("We are travelling to {c} {t}.", "Wir reisen {t} {c:nach}.", {"c": country, "t": future_time}),
    _V("Have you ever been to {c}?", "Waren Sie schon einmal {c:in}?", {"c": country}),
    _V("I live in {c}.", "Ich wohne in {c}.", {"c": pick(CITIES)}),
    _V("I was born in {c}.", "Ich bin in {c} geboren.", {"c": pick(CITIES)}),
    _V("We are flying to {c} {t}.", "Wir fliegen {t} nach {c}.", {"c": pick(CITIES), "t": future_time}),
    _V("Do you speak {l}?", "Sprechen Sie {l}?", {"l": pick(LANGUAGES)}),
    _V("I am learning {l}.", "Ich lerne {l}.", {"l": pick(LANGUAGES)}),
    _V("I speak {a} and {b}.", "Ich spreche {a} und {b}.", {"a": pick(LANGUAGES), "b": pick(LANGUAGES)},
       distinct=("a", "b")),
    _V("My {r} speaks {l}.", "{r:mein_nom} spricht {l}.", {"r": pick(RELATIVES), "l": pick(LANGUAGES)}),
    _V("I like {a}.", "Ich {a:ich}.", {"a": activity}),
    _V("We like {a}.", "Wir {a:wir}.", {"a": activity}),
    _V("Do you like {a}?", "{a:sie_q}?", {"a": activity}),
    _V("I like {f:pl}.", "Ich mag {f:pl_acc}.", {"f": pick(FOOD)}),
    _V("I do not like {f:pl}.", "Ich mag keine {f:pl_acc}.", {"f": pick(FOOD)}),
    _V("See you on {d}!", "Bis {d}!", {"d": day}),
    _V("Today is {d}.", "Heute ist {d}.", {"d": day}),
    _V("Do you have time {t}?", "Haben Sie {t} Zeit?", {"t": future_time}),
    _V("I have lost my {x}.", "Ich habe {x:mein_acc} verloren.", {"x": pick(LOST_THINGS)}),
    _V("Have you seen my {x}?", "Haben Sie {x:mein_acc} gesehen?", {"x": pick(LOST_THINGS)}),
    _V("Where is my {x}?", "Wo ist {x:mein_nom}?", {"x": pick(LOST_THINGS)}),
    _V("My {x} has been stolen.", "{x:mein_nom} wurde gestohlen.", {"x": pick(LOST_THINGS)}),
    _V("My {b} hurts.", "{b:mein_nom} tut weh.", {"b": pick(BODY)}),
    _V("My {b:pl} hurt.", "Meine {b:pl_nom} tun weh.", {"b": pick(PAIRED_BODY)}),
    _V("I am allergic to {a}.", "Ich bin allergisch gegen {a}.",
       {"a": pick([("nuts", "Nüsse"), ("milk", "Milch"), ("eggs", "Eier"), ("fish", "Fisch"),
                   ("penicillin", "Penicillin"), ("cats", "Katzen"), ("pollen", "Pollen")])}),
]

WEATHER_ADJ = [("sunny", "sonnig"), ("cloudy", "bewölkt"), ("windy", "windig"), ("foggy", "neblig"),
               ("cold", "kalt"), ("warm", "warm"), ("hot", "heiß"), ("rainy", "regnerisch"),
               ("dry", "trocken"),
               ("humid", "schwül"), ("stormy", "stürmisch"), ("very cold", "sehr kalt"),
               ("very hot", "sehr heiß"), ("cool", "kühl"), ("mild", "mild"), ("frosty", "frostig")]
NOW_TIMES = [("today", "heute"), ("this morning", "heute Morgen"), ("this afternoon", "heute Nachmittag"),
             ("this evening", "heute Abend"), ("now", "jetzt")]
PAST_TIMES = [("yesterday", "gestern"), ("last week", "letzte Woche"), ("last night", "gestern Abend"),
              ("on Sunday", "am Sonntag"), ("on Monday", "am Montag"), ("last weekend", "letztes Wochenende")]
FUTURE_WEATHER_TIMES = [("tomorrow", "morgen"), ("at the weekend", "am Wochenende"),
                        ("tonight", "heute Nacht"),
                        ("on Friday", "am Freitag"), ("on Saturday", "am Samstag"),
                        ("tomorrow morning", "morgen früh"), ("next week", "nächste Woche"),
                        ("the day after tomorrow", "übermorgen")]
STRENGTH = [("light", "leichtem"), ("strong", "starkem"), ("cold", "kaltem"), ("warm", "warmem")]


def temperature(rng: random.Random, style: str) -> Filler:
    """'twenty degrees' / '20 Grad', 'minus five degrees' / 'minus fünf Grad' (never one degree)."""
    if rng.random() < 0.2:
        n = rng.randint(2, 25)
        return Fixed(f"minus {en_cardinal(n)} degrees", f"minus {de_quantity(n, style)} Grad")
    n = rng.choice([0, *range(2, 41)])
    return Fixed(f"{en_cardinal(n)} degrees", f"{de_quantity(n, style)} Grad")


WEATHER = [
    _V("It is {a} {t}.", "{t} ist es {a}.", {"a": pick(WEATHER_ADJ), "t": pick(NOW_TIMES)}),
    _V("It will be {a} {t}.", "{t} wird es {a}.", {"a": pick(WEATHER_ADJ), "t": pick(FUTURE_WEATHER_TIMES)}),
    _V("It was {a} {t}.", "{t} war es {a}.", {"a": pick(WEATHER_ADJ), "t": pick(PAST_TIMES)}),
    _V("Is it {a} {t}?", "Ist es {t} {a}?", {"a": pick(WEATHER_ADJ), "t": pick(NOW_TIMES)}),
    _V("Will it be {a} {t}?", "Wird es {t} {a}?", {"a": pick(WEATHER_ADJ), "t": pick(FUTURE_WEATHER_TIMES)}),
    _V("It will rain {t}.", "{t} wird es regnen.", {"t": pick(FUTURE_WEATHER_TIMES)}),
    _V("It will snow {t}.", "{t} wird es schneien.", {"t": pick(FUTURE_WEATHER_TIMES)}),
    _V("It rained {t}.", "{t} hat es geregnet.", {"t": pick(PAST_TIMES)}),
    _V("It snowed {t}.", "{t} hat es geschneit.", {"t": pick(PAST_TIMES)}),
    _V("It is raining {t}.", "{t} regnet es.", {"t": pick(NOW_TIMES)}),
    _V("The sun is shining {t}.", "{t} scheint die Sonne.", {"t": pick(NOW_TIMES)}),
    _V("What will the weather be like {t}?", "Wie wird das Wetter {t}?", {"t": pick(FUTURE_WEATHER_TIMES)}),
    _V("What was the weather like {t}?", "Wie war das Wetter {t}?", {"t": pick(PAST_TIMES)}),
    _V("The weather will be {a} {t}, with a {s} wind from the {d}.",
       "Das Wetter wird {t} {a}, mit {s} Wind aus {d}.",
       {"a": pick(WEATHER_ADJ), "t": pick(FUTURE_WEATHER_TIMES), "s": pick(STRENGTH), "d": pick(COMPASS)}),
    _V("There is a {s} wind from the {d}.", "Es weht ein {s} Wind aus {d}.",
       {"s": pick([("light", "leichter"), ("strong", "starker"), ("cold", "kalter"), ("warm", "warmer")]),
        "d": pick(COMPASS)}),
    _V("It is {n} {t}.", "{t} sind es {n}.", {"n": temperature, "t": pick(NOW_TIMES)}),
    _V("It will be {n} {t}.", "{t} werden es {n}.", {"n": temperature, "t": pick(FUTURE_WEATHER_TIMES)}),
    _V("The temperature is {n}.", "Die Temperatur beträgt {n}.", {"n": temperature}),
    _V("The forecast says it will be {a} {t}.", "Laut Wettervorhersage wird es {t} {a}.",
       {"a": pick(WEATHER_ADJ), "t": pick(FUTURE_WEATHER_TIMES)}),
    _V("It is too {a} for me.", "Es ist mir zu {a}.",
       {"a": pick([("cold", "kalt"), ("warm", "warm"), ("hot", "heiß"), ("windy", "windig")])}),
    _V("The sky is {c} {t}.", "Der Himmel ist {t} {c}.",
       {"c": pick([("blue", "blau"), ("grey", "grau"), ("clear", "klar"), ("cloudy", "bewölkt")]),
        "t": pick(NOW_TIMES)}),
    _V("It is {a} in {c} {t}.", "{t} ist es in {c} {a}.",
       {"a": pick(WEATHER_ADJ), "c": pick(CITIES), "t": pick(NOW_TIMES)}),
    _V("It will be {a} in {c} {t}.", "{t} wird es in {c} {a}.",
       {"a": pick(WEATHER_ADJ), "c": pick(CITIES), "t": pick(FUTURE_WEATHER_TIMES)}),
    _V("There will be a storm {t}.", "{t} gibt es ein Gewitter.", {"t": pick(FUTURE_WEATHER_TIMES)}),
]

def _nearest(rng: random.Random, style: str) -> Filler:
    """'the nearest station' / 'der nächste Bahnhof' (weak adjective after the article)."""
    noun = rng.choice(PLACES)
    return Forms({"": noun.en}, {"nearest": f"{_DEF['nom'][_G[noun.gender]]} nächste {noun.de}"})


def _metres(rng: random.Random, style: str) -> Filler:
    n = rng.choice([50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 800])
    return Fixed(en_cardinal(n, rng.random() < 0.5), de_quantity(n, style))


WORKPLACES = [("the station", "am Bahnhof"), ("the post office", "bei der Post"),
              ("the bank", "bei der Bank"),
              ("the pharmacy", "in der Apotheke"), ("the hospital", "im Krankenhaus"),
              ("the museum", "im Museum"),
              ("the hotel", "im Hotel"), ("the supermarket", "im Supermarkt"),
              ("the bakery", "in der Bäckerei"),
              ("the airport", "am Flughafen"), ("the library", "in der Bibliothek"),
              ("the town hall", "im Rathaus"), ("the cinema", "im Kino"),
              ("the university", "an der Universität"),
              ("the school", "an der Schule"), ("the theatre", "am Theater"), ("the zoo", "im Zoo"),
              ("a restaurant", "in einem Restaurant"), ("a café", "in einem Café"), ("home", "zu Hause")]

DIRECTIONS = [
    _V("Where is the {p}?", "Wo ist {p:def_nom}?", {"p": pick(PLACES)}),
    _V("Excuse me, where is the nearest {p}?", "Entschuldigung, wo ist {p:nearest}?", {"p": _nearest}),
    _V("How do I get to the {p}?", "Wie komme ich {p:zu}?", {"p": pick(PLACES)}),
    _V("Is there a {p} near here?", "Gibt es hier in der Nähe {p:indef_acc}?", {"p": pick(PLACES)}),
    _V("Is the {p} far from here?", "Ist {p:def_nom} weit von hier?", {"p": pick(PLACES)}),
    _V("The {a} is next to the {b}.", "{a:def_nom} ist neben {b:def_dat}.",
       {"a": pick(PLACES), "b": pick(PLACES)},
       distinct=("a", "b")),
    _V("The {a} is opposite the {b}.", "{a:def_nom} ist gegenüber {b:def_dat}.",
       {"a": pick(PLACES), "b": pick(PLACES)}, distinct=("a", "b")),
    _V("The {a} is behind the {b}.", "{a:def_nom} ist hinter {b:def_dat}.",
       {"a": pick(PLACES), "b": pick(PLACES)},
       distinct=("a", "b")),
    _V("The {a} is in front of the {b}.", "{a:def_nom} ist vor {b:def_dat}.",
       {"a": pick(PLACES), "b": pick(PLACES)}, distinct=("a", "b")),
    _V("The {a} is between the {b} and the {c}.", "{a:def_nom} ist zwischen {b:def_dat} und {c:def_dat}.",
       {"a": pick(PLACES), "b": pick(PLACES), "c": pick(PLACES)}, distinct=("a", "b", "c")),
    _V("Turn left at the {l}.", "Biegen Sie {l:an} links ab.", {"l": pick(LANDMARKS)}),
    _V("Turn right at the {l}.", "Biegen Sie {l:an} rechts ab.", {"l": pick(LANDMARKS)}),
    _V("Turn left after the {l}.", "Biegen Sie nach {l:def_dat} links ab.", {"l": pick(LANDMARKS)}),
    _V("Turn right after the {l}.", "Biegen Sie nach {l:def_dat} rechts ab.", {"l": pick(LANDMARKS)}),
    _V("Go straight on until you reach the {p}.", "Gehen Sie geradeaus, bis Sie {p:def_acc} erreichen.",
       {"p": pick(PLACES)}),
    _V("Go straight ahead as far as the {p}.", "Gehen Sie geradeaus bis {p:zu}.", {"p": pick(PLACES)}),
    _V("Take the {o} street on the {s}.", "Nehmen Sie die {o} Straße {s}.",
       {"o": pick([("first", "erste"), ("second", "zweite"), ("third", "dritte"), ("fourth", "vierte")]),
        "s": pick([("left", "links"), ("right", "rechts")])}),
    _V("The {p} is on the {s}.", "{p:def_nom} ist auf der {s} Seite.",
       {"p": pick(PLACES), "s": pick([("left", "linken"), ("right", "rechten")])}),
    _V("Can you show me the way to the {p}?", "Können Sie mir den Weg {p:zu} zeigen?", {"p": pick(PLACES)}),
    _V("Cross the {x} and then turn {s}.", "Überqueren Sie {x:def_acc} und biegen Sie dann {s} ab.",
       {"x": pick(CROSSABLE), "s": pick([("left", "links"), ("right", "rechts")])}),
    _V("Follow the signs to the {p}.", "Folgen Sie den Schildern {p:zu}.", {"p": pick(PLACES)}),
    _V("Which bus goes to the {p}?", "Welcher Bus fährt {p:zu}?", {"p": pick(PLACES)}),
    _V("Does this bus go to the {p}?", "Fährt dieser Bus {p:zu}?", {"p": pick(PLACES)}),
    _V("Does this train go to {c}?", "Fährt dieser Zug nach {c}?", {"c": pick(CITIES)}),
    _V("How far is it to {c}?", "Wie weit ist es bis {c}?", {"c": pick(CITIES)}),
    _V("I am looking for the {p}.", "Ich suche {p:def_acc}.", {"p": pick(PLACES)}),
    _V("We are going to the {p}.", "Wir gehen {p:zu}.", {"p": pick(PLACES)}),
    _V("Let us meet in front of the {p}.", "Treffen wir uns vor {p:def_dat}.", {"p": pick(PLACES)}),
    _V("I will wait for you at the {p}.", "Ich warte {p:an} auf Sie.", {"p": pick(PLACES)}),
    _V("The {p} is closed today.", "{p:def_nom} ist heute geschlossen.", {"p": pick(PLACES)}),
    _V("Is the {p} open on {d}?", "Ist {p:def_nom} {d:on} geöffnet?", {"p": pick(SHOPS), "d": day}),
    _V("When does the {p} open?", "Wann öffnet {p:def_nom}?", {"p": pick(SHOPS)}),
    _V("When does the {p} close?", "Wann schließt {p:def_nom}?", {"p": pick(SHOPS)}),
    _V("The {p} is closed {d:every}.", "{p:def_nom} ist {d:every} geschlossen.",
       {"p": pick(SHOPS), "d": day}),
    _V("Is there a {p} in this town?", "Gibt es {p:indef_acc} in dieser Stadt?", {"p": pick(PLACES)}),
    _V("There is no {p} here.", "Hier gibt es {p:kein_acc}.", {"p": pick(PLACES)}),
    _V("I work at {p}.", "Ich arbeite {p}.", {"p": pick(WORKPLACES)}),
    _V("Take the {x} exit.", "Nehmen Sie die {x} Ausfahrt.",
       {"x": pick([("first", "erste"), ("second", "zweite"), ("third", "dritte")])}),
    _V("The {p} is about {n} metres from here.", "{p:def_nom} ist etwa {n} Meter von hier entfernt.",
       {"p": pick(PLACES), "n": _metres}),
    _V("It is about {n} minutes on foot.", "Es sind etwa {n} Minuten zu Fuß.", {"n": quantity(2, 60)}),
    _V("It takes {n} minutes by bus.", "Mit dem Bus dauert es {n} Minuten.", {"n": quantity(2, 90)}),
    _V("It is {n} kilometres to {c}.", "Bis {c} sind es {n} Kilometer.",
       {"n": quantity(2, 900), "c": pick(CITIES)}),
]


def _measure(rng: random.Random, style: str) -> Filler:
    """'two bottles of water' / 'zwei Flaschen Wasser' (measure nouns do not inflect the content)."""
    measure, contents = rng.choice(MEASURES)
    en_c, de_c = rng.choice(contents)
    n = 1 if rng.random() < 0.6 else rng.randint(2, 12)
    if n == 1:
        en = f"{en_indef(measure.en)} of {en_c}"
        forms = {c: f"{de_np(measure, 'indef', c)} {de_c}" for c in ("nom", "acc")}
    else:
        en = f"{en_cardinal(n)} {measure.english_plural} of {en_c}"
        forms = {c: f"{de_quantity(n, style)} {measure.de_pl} {de_c}" for c in ("nom", "acc")}
    return Forms({"": en}, forms)


SHOPPING = [
    _V("I would like {x:q}, please.", "Ich hätte gern {x:q_acc}, bitte.", {"x": np_count(FOOD, 1, 30)}),
    _V("I need {x:q}.", "Ich brauche {x:q_acc}.", {"x": np_count(COUNTABLES, 1, 200)}),
    _V("We need {x:q}.", "Wir brauchen {x:q_acc}.", {"x": np_count(COUNTABLES, 1, 200)}),
    _V("I have {x:q}.", "Ich habe {x:q_acc}.", {"x": np_count(COUNTABLES, 1, 200)}),
    _V("Do you have {x:pl}?", "Haben Sie {x:pl_acc}?", {"x": pick(FOOD)}),
    _V("Where can I buy {x:pl}?", "Wo kann ich {x:pl_acc} kaufen?", {"x": pick(FOOD + CLOTHES)}),
    _V("How much is the {x}?", "Wie viel kostet {x:def_nom}?", {"x": pick(FOOD + CLOTHES)}),
    _V("How much are the {x:pl}?", "Wie viel kosten die {x:pl_nom}?", {"x": pick(FOOD + CLOTHES)}),
    _V("The {x:pl} are very fresh today.", "Die {x:pl_nom} sind heute sehr frisch.", {"x": pick(FOOD)}),
    _V("I am looking for {x:a}.", "Ich suche {x:indef_acc}.",
       {"x": np_with_adj(CLOTHES, COLOURS + SIZE_ADJS)}),
    _V("I will take the {x}.", "Ich nehme {x:def_acc}.", {"x": np_with_adj(CLOTHES, COLOURS + SIZE_ADJS)}),
    _V("I like the {x}.", "{x:def_nom} gefällt mir.", {"x": np_with_adj(CLOTHES, COLOURS)}),
    _V("The {x} is too {p}.", "{x:def_nom} ist zu {p}.",
       {"x": np_with_adj(CLOTHES, COLOURS), "p": pick(PREDICATES_SIZE)}),
    _V("Do you have this {x} in {c}?", "Haben Sie {x:dies_acc} in {c}?",
       {"x": pick(CLOTHES), "c": pick(COLOUR_NOUNS)}),
    _V("Can I try on the {x}?", "Kann ich {x:def_acc} anprobieren?", {"x": np_with_adj(CLOTHES, COLOURS)}),
    _V("Do you have {x:a}?", "Haben Sie {x:indef_acc}?", {"x": np_with_adj(CLOTHES, COLOURS)}),
    _V("I would like to buy {x:a}.", "Ich möchte {x:indef_acc} kaufen.",
       {"x": np_with_adj(CLOTHES, COLOURS + SIZE_ADJS)}),
    _V("My {x} is too {p}.", "{x:mein_nom} ist zu {p}.", {"x": pick(CLOTHES), "p": pick(PREDICATES_SIZE)}),
    _V("This {x} does not fit me.", "{x:dies_nom} passt mir nicht.", {"x": pick(CLOTHES)}),
    _V("I am looking for a present for my {r}.", "Ich suche ein Geschenk für {r:mein_acc}.",
       {"r": pick(RELATIVES)}),
    _V("{m}, please.", "{m:nom}, bitte.", {"m": _measure}),
    _V("I would like {m}.", "Ich hätte gern {m:acc}.", {"m": _measure}),
    _V("I would like {x:a}, please.", "Ich hätte gern {x:indef_acc}, bitte.", {"x": pick(DRINKS)}),
    _V("Another {x}, please.", "Noch {x:indef_acc}, bitte.", {"x": pick(DRINKS)}),
    _V("Could I have {x:a}?", "Könnte ich {x:indef_acc} bekommen?", {"x": pick(DRINKS + EXTRA_THINGS)}),
    _V("We would like {x:q}, please.", "Wir hätten gern {x:q_acc}, bitte.", {"x": np_count(DRINKS, 2, 12)}),
    _V("A table for {n}, please.", "Einen Tisch für {n} Personen, bitte.", {"n": person_group}),
    _V("Do you have a table for {n}?", "Haben Sie einen Tisch für {n} Personen?", {"n": person_group}),
    _V("The {x} is {t}.", "{x:def_nom} ist {t}.", {"x": pick(DISHES), "t": pick(TASTES)}),
    _V("The {x} was {t}.", "{x:def_nom} war {t}.", {"x": pick(DISHES), "t": pick(TASTES)}),
    _V("I would like the {x}, please.", "Ich hätte gern {x:def_acc}, bitte.", {"x": pick(DISHES)}),
    _V("Without {x}, please.", "Ohne {x}, bitte.",
       {"x": pick([("onions", "Zwiebeln"), ("sugar", "Zucker"), ("milk", "Milch"), ("ice", "Eis"),
                   ("salt", "Salz"), ("meat", "Fleisch"), ("sauce", "Soße")])}),
    _V("Can I pay for the {x} by card?", "Kann ich {x:def_acc} mit Karte bezahlen?", {"x": pick(CLOTHES)}),
]


_ZU = {"bezahlen": "zu bezahlen", "bestellen": "zu bestellen", "einchecken": "einzuchecken",
       "auschecken": "auszuchecken", "parken": "zu parken", "schwimmen": "zu schwimmen",
       "reservieren": "zu reservieren", "mieten": "zu mieten", "wechseln": "zu wechseln",
       "bleiben": "zu bleiben",
       "kaufen": "zu kaufen", "besuchen": "zu besuchen", "anprobieren": "anzuprobieren"}


def _zu_infinitive(rng: random.Random, style: str) -> Filler:
    """An English infinitive and its German zu-infinitive ("check in" / "einzuchecken")."""
    options = [(en, de) for en, de in SELF_ACTIONS if de.split()[-1] in _ZU]
    en, de = rng.choice(options)
    words = de.split()
    return Forms({"": en}, {"zu": " ".join([*words[:-1], _ZU[words[-1]]])})


TRAVEL = [
    _V("One ticket to {c}, please.", "Eine Fahrkarte nach {c}, bitte.", {"c": pick(CITIES)}),
    _V("A return ticket to {c}, please.", "Eine Rückfahrkarte nach {c}, bitte.", {"c": pick(CITIES)}),
    _V("I would like {n} tickets to {c}.", "Ich hätte gern {n} Fahrkarten nach {c}.",
       {"n": quantity(2, 12), "c": pick(CITIES)}),
    _V("When does the next train to {c} leave?", "Wann fährt der nächste Zug nach {c}?", {"c": pick(CITIES)}),
    _V("Which platform does the train to {c} leave from?", "Von welchem Gleis fährt der Zug nach {c}?",
       {"c": pick(CITIES)}),
    _V("The train to {c} leaves from platform {n}.", "Der Zug nach {c} fährt von Gleis {n} ab.",
       {"c": pick(CITIES), "n": ident(1, 24)}),
    _V("The train is {n} minutes late.", "Der Zug hat {n} Minuten Verspätung.", {"n": quantity(2, 120)}),
    _V("Do I have to change trains?", "Muss ich umsteigen?"),
    _V("Where do I have to change trains to get to {c}?", "Wo muss ich umsteigen, um nach {c} zu kommen?",
       {"c": pick(CITIES)}),
    _V("Take bus number {n}.", "Nehmen Sie den Bus Nummer {n}.", {"n": ident(1, 199)}),
    _V("The flight to {c} is cancelled.", "Der Flug nach {c} fällt aus.", {"c": pick(CITIES)}),
    _V("The flight to {c} leaves from gate {n}.", "Der Flug nach {c} geht von Gate {n}.",
       {"c": pick(CITIES), "n": ident(1, 60)}),
    _V("My seat number is {n}.", "Meine Sitzplatznummer ist {n}.", {"n": ident(1, 99)}),
    _V("I have a reservation for {n} nights.", "Ich habe eine Reservierung für {n} Nächte.",
       {"n": quantity(2, 21)}),
    _V("A single room for {n} nights, please.", "Ein Einzelzimmer für {n} Nächte, bitte.",
       {"n": quantity(2, 21)}),
    _V("A double room for {n} nights, please.", "Ein Doppelzimmer für {n} Nächte, bitte.",
       {"n": quantity(2, 21)}),
    _V("Your room number is {n}.", "Ihre Zimmernummer ist {n}.", {"n": ident(1, 999)}),
    _V("I am in room {n}.", "Ich bin in Zimmer {n}.", {"n": ident(1, 999)}),
    _V("The {x} in my room does not work.", "{x:def_nom} in meinem Zimmer funktioniert nicht.",
       {"x": pick(ROOM_THINGS)}),
    _V("Could I have another {x}?", "Könnte ich noch {x:indef_acc} bekommen?", {"x": pick(EXTRA_THINGS)}),
    _V("Where is the {x}?", "Wo ist {x:def_nom}?", {"x": pick(BUILDING_THINGS)}),
    _V("Please open your books at page {n}.", "Bitte öffnen Sie Ihre Bücher auf Seite {n}.",
       {"n": ident(1, 400)}),
    _V("Could you please {a}?", "Könnten Sie {a:bitte_inf}?", {"a": action}),
    _V("Please {a}.", "Bitte {a:imp}.", {"a": action}),
    _V("Can you {a}?", "Können Sie {a:inf}?", {"a": action}),
    _V("Would you {a}, please?", "Würden Sie {a:bitte_inf}?", {"a": action}),
    _V("I would like to {a}.", "Ich möchte {a}.", {"a": pick(SELF_ACTIONS)}),
    _V("We would like to {a}.", "Wir möchten {a}.", {"a": pick(SELF_ACTIONS)}),
    _V("Can I {a} here?", "Kann ich hier {a}?", {"a": pick(PLACE_ACTIONS)}),
    _V("Where can I {a}?", "Wo kann ich {a}?", {"a": pick(PLACE_ACTIONS)}),
    _V("I have to {a} {t}.", "Ich muss {t} {a}.",
       {"a": pick([a for a in SELF_ACTIONS if "here" not in a[0] and "this" not in a[0]]), "t": future_time}),
    _V("We want to {a} {t}.", "Wir wollen {t} {a}.",
       {"a": pick([a for a in SELF_ACTIONS if "here" not in a[0] and "this" not in a[0]]), "t": future_time}),
    _V("Is it possible to {a}?", "Ist es möglich, {a:zu}?", {"a": _zu_infinitive}),
]


def _arith(rng: random.Random, style: str) -> tuple[str, str]:
    """'three plus four is seven.' / 'Drei plus vier ist sieben.'"""
    a, b = sample_number(rng, 0, 500), sample_number(rng, 0, 500)
    c = a + b
    en = f"{en_cardinal(a)} plus {en_cardinal(b)} is {en_cardinal(c)}."
    de = f"{de_quantity(a, style)} plus {de_quantity(b, style)} ist {de_quantity(c, style)}."
    return _capitalise(en), _capitalise(de)


NUMBERS = [
    _V("The answer is {n}.", "Die Antwort ist {n}.", {"n": quantity(0, 9999)}),
    _V("The number is {n}.", "Die Zahl ist {n}.", {"n": quantity(0, 9999)}),
    _V("I am {n} years old.", "Ich bin {n} Jahre alt.", {"n": quantity(2, 99)}),
    _V("My {r} is {n} years old.", "{r:mein_nom} ist {n} Jahre alt.",
       {"r": pick(RELATIVES), "n": quantity(2, 99)}),
    _V("{n} people came to the meeting.", "{n} Personen kamen zur Besprechung.", {"n": quantity(2, 9999)}),
    _V("There are {n} students in the class.", "In der Klasse sind {n} Studenten.", {"n": quantity(2, 60)}),
    _V("The town has {n} inhabitants.", "Die Stadt hat {n} Einwohner.", {"n": quantity(100, 9999)}),
    _V("The hotel has {n} rooms.", "Das Hotel hat {n} Zimmer.", {"n": quantity(2, 999)}),
    _V("The book has {n} pages.", "Das Buch hat {n} Seiten.", {"n": quantity(20, 2000)}),
    _V("We waited for {n} minutes.", "Wir haben {n} Minuten gewartet.", {"n": quantity(2, 180)}),
    _V("The journey takes {n} hours.", "Die Reise dauert {n} Stunden.", {"n": quantity(2, 48)}),
    _V("I have been living here for {n} years.", "Ich wohne seit {n} Jahren hier.", {"n": quantity(2, 80)}),
    _V("The distance is {n} kilometres.", "Die Entfernung beträgt {n} Kilometer.", {"n": quantity(2, 9999)}),
    _V("The mountain is {n} metres high.", "Der Berg ist {n} Meter hoch.", {"n": quantity(100, 9000)}),
    Func(_arith),
    _V("There are {x:q} on the table.", "Auf dem Tisch liegen {x:q_nom}.",
       {"x": np_count(TABLE_THINGS, 2, 99)}),
    _V("I counted {x:q}.", "Ich habe {x:q_acc} gezählt.", {"x": np_count(COUNTABLES, 1, 9999)}),
    _V("The museum was built in {y}.", "Das Museum wurde {y} gebaut.", {"y": year}),
    _V("I was born in {y}.", "Ich bin {y} geboren.", {"y": year}),
    _V("That happened in {y}.", "Das ist {y} passiert.", {"y": year}),
]


TIMES = [
    _V("The train leaves at {t}.", "Der Zug fährt um {t} ab.", {"t": clock_time}),
    _V("The train to {c} leaves at {t}.", "Der Zug nach {c} fährt um {t} ab.",
       {"t": clock_time, "c": pick(CITIES)}),
    _V("The bus leaves {d:on} at {t}.", "Der Bus fährt {d:on} um {t} ab.", {"t": clock_time, "d": day}),
    _V("The meeting starts at {t}.", "Die Besprechung beginnt um {t}.", {"t": clock_time}),
    _V("The film begins at {t}.", "Der Film beginnt um {t}.", {"t": clock_time}),
    _V("The concert starts {f} at {t}.", "Das Konzert beginnt {f} um {t}.",
       {"t": clock_time, "f": future_time}),
    _V("Let us meet at {t}.", "Treffen wir uns um {t}.", {"t": clock_time}),
    _V("Let us meet at the {p} at {t}.", "Treffen wir uns um {t} {p:an}.",
       {"t": clock_time, "p": pick(PLACES)}),
    _V("Can we meet {f} at {t}?", "Können wir uns {f} um {t} treffen?", {"t": clock_time, "f": future_time}),
    _V("The {p} opens at {t}.", "{p:def_nom} öffnet um {t}.", {"t": clock_time, "p": pick(SHOPS)}),
    _V("The {p} closes at {t}.", "{p:def_nom} schließt um {t}.", {"t": clock_time, "p": pick(SHOPS)}),
    _V("I get up at {t}.", "Ich stehe um {t} auf.", {"t": clock_time}),
    _V("I usually go to bed at {t}.", "Ich gehe normalerweise um {t} ins Bett.", {"t": clock_time}),
    _V("Dinner is at {t}.", "Das Abendessen ist um {t}.", {"t": clock_time}),
    _V("Breakfast is served at {t}.", "Das Frühstück wird um {t} serviert.", {"t": clock_time}),
    _V("My appointment is at {t}.", "Mein Termin ist um {t}.", {"t": clock_time}),
    _V("My appointment is {d:on} at {t}.", "Mein Termin ist {d:on} um {t}.", {"t": clock_time, "d": day}),
    _V("The plane lands at {t}.", "Das Flugzeug landet um {t}.", {"t": clock_time}),
    _V("It is {t}.", "Es ist {t}.", {"t": clock_time}),
    _V("It is already {t}.", "Es ist schon {t}.", {"t": clock_time}),
    _V("I will call you at {t}.", "Ich rufe Sie um {t} an.", {"t": clock_time}),
    _V("Please be here at {t}.", "Bitte seien Sie um {t} hier.", {"t": clock_time}),
    _V("We have a table reserved for {t}.", "Wir haben einen Tisch für {t} reserviert.", {"t": clock_time}),
    _V("The last bus leaves at {t}.", "Der letzte Bus fährt um {t}.", {"t": clock_time}),
    _V("Check-out is at {t}.", "Check-out ist um {t}.", {"t": clock_time}),
    _V("The tour starts at {t} in front of the {p}.", "Die Führung beginnt um {t} vor {p:def_dat}.",
       {"t": clock_time, "p": pick(PLACES)}),
]

DATES = [
    _V("Today is {d}.", "Heute ist {d:nom}.", {"d": date_no_year}),
    _V("Tomorrow is {d}.", "Morgen ist {d:nom}.", {"d": date_no_year}),
    _V("My birthday is {d:on}.", "Mein Geburtstag ist {d:am}.", {"d": date_no_year}),
    _V("I was born {d:on}.", "Ich bin {d:am} geboren.", {"d": date}),
    _V("The concert is {d:on}.", "Das Konzert ist {d:am}.", {"d": date}),
    _V("We are flying to {c} {d:on}.", "Wir fliegen {d:am} nach {c}.",
       {"d": date_no_year, "c": pick(CITIES)}),
    _V("The shop is closed until {d}.", "Der Laden ist {d:bis} geschlossen.", {"d": date_no_year}),
    _V("I have been working here since {d}.", "Ich arbeite {d:seit} hier.", {"d": date}),
    _V("The deadline is {d}.", "Der Abgabetermin ist {d:nom}.", {"d": date}),
    _V("The museum is closed {r}.", "Das Museum ist {r} geschlossen.", {"r": date_range}),
    _V("We are on holiday {r}.", "Wir sind {r} im Urlaub.", {"r": date_range}),
    _V("The meeting is {d:on} at {t}.", "Die Besprechung ist {d:am} um {t}.",
       {"d": date_no_year, "t": clock_time}),
    _V("Can we meet {d:on}?", "Können wir uns {d:am} treffen?", {"d": date_no_year}),
    _V("The festival starts {d:on}.", "Das Fest beginnt {d:am}.", {"d": date_no_year}),
    _V("My {r} was born {d:on}.", "{r:mein_nom} ist {d:am} geboren.", {"d": date, "r": pick(RELATIVES)}),
    _V("The letter arrived {d:on}.", "Der Brief ist {d:am} angekommen.", {"d": date_no_year}),
    _V("I will be in {c} {d:on}.", "Ich bin {d:am} in {c}.", {"d": date_no_year, "c": pick(CITIES)}),
    _V("I have an appointment {d:on} at {t}.", "Ich habe {d:am} um {t} einen Termin.",
       {"d": date_no_year, "t": clock_time}),
]

PRICES = [
    _V("It costs {p}.", "Es kostet {p}.", {"p": price}),
    _V("That costs {p}.", "Das kostet {p}.", {"p": price}),
    _V("That makes {p}, please.", "Das macht {p}, bitte.", {"p": price}),
    _V("The {x} costs {p}.", "{x:def_nom} kostet {p}.", {"x": pick(FOOD + CLOTHES), "p": price}),
    _V("The {x} costs {p}.", "{x:def_nom} kostet {p}.", {"x": np_with_adj(CLOTHES, COLOURS), "p": price}),
    _V("The {x:pl} cost {p} per kilo.", "Die {x:pl_nom} kosten {p} pro Kilo.", {"x": pick(FOOD), "p": price}),
    _V("The {x:pl} cost {p}.", "Die {x:pl_nom} kosten {p}.", {"x": pick(FOOD + CLOTHES), "p": price}),
    _V("I paid {p} for the {x}.", "Ich habe {p} für {x:def_acc} bezahlt.",
       {"x": pick(CLOTHES + LOST_THINGS), "p": price}),
    _V("The ticket costs {p}.", "Die Fahrkarte kostet {p}.", {"p": price}),
    _V("A ticket to {c} costs {p}.", "Eine Fahrkarte nach {c} kostet {p}.", {"c": pick(CITIES), "p": price}),
    _V("The room costs {p} per night.", "Das Zimmer kostet {p} pro Nacht.", {"p": price}),
    _V("The total is {p}.", "Das macht zusammen {p}.", {"p": price}),
    _V("The price is {p}.", "Der Preis beträgt {p}.", {"p": price}),
    _V("The rent is {p} a month.", "Die Miete beträgt {p} im Monat.", {"p": price}),
    _V("Entry costs {p} for adults.", "Der Eintritt kostet {p} für Erwachsene.", {"p": price}),
    _V("A coffee costs {p} here.", "Ein Kaffee kostet hier {p}.", {"p": price}),
    _V("I only have {p}.", "Ich habe nur {p}.", {"p": price}),
    _V("Can you lend me {p}?", "Können Sie mir {p} leihen?", {"p": price}),
    _V("It is reduced to {p}.", "Es ist auf {p} reduziert.", {"p": price}),
]

# Category -> (templates, weight). PHRASES share the weight of the everyday categories.
CATEGORIES: dict[str, tuple[list[Template | Func], float]] = {
    "numbers": (NUMBERS, 0.12),
    "times": (TIMES, 0.14),
    "dates": (DATES, 0.12),
    "prices": (PRICES, 0.12),
    "greetings": (GREETINGS, 0.04),
    "social": (SOCIAL, 0.12),
    "weather": (WEATHER, 0.08),
    "directions": (DIRECTIONS, 0.1),
    "shopping": (SHOPPING, 0.1),
    "travel": (TRAVEL, 0.06),
}


def num_templates() -> int:
    """How many templates the grammar has."""
    return sum(len(t) for t, _ in CATEGORIES.values())


Categories = dict[str, tuple[list[Template | Func], float]]


def sample(rng: random.Random, style: str = "mixed",
           categories: Categories | None = None) -> tuple[str, str, str]:
    """One random ``(english, german, category)`` from ``categories`` (default ``CATEGORIES``)."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    categories = CATEGORIES if categories is None else categories
    names = list(categories)
    name = rng.choices(names, weights=[categories[n][1] for n in names])[0]
    templates = categories[name][0]
    en, de = rng.choice(templates).sample(rng, style)
    return en, de, name


def generate(n: int, seed: int, style: str = "mixed", max_tries: int | None = None,
             categories: Categories | None = None) -> list[tuple[str, str, str]]:
    """``n`` distinct sentences ``(english, german, category)``, unique by both English and German,
    from ``categories`` (default ``CATEGORIES``).

    Deterministic for a given ``(n, seed, style)``, and the first ``k`` of ``generate(n)`` equal
    ``generate(k)``. Fewer than ``n`` come back only when ``max_tries`` draws (default ``50 n + 1000``)
    do not find enough distinct sentences.
    """
    rng = random.Random(seed)
    out: list[tuple[str, str, str]] = []
    seen_en: set[str] = set()
    seen_de: set[str] = set()
    tries = max_tries if max_tries is not None else 50 * n + 1000
    while len(out) < n and tries > 0:
        tries -= 1
        en, de, cat = sample(rng, style, categories)
        if en in seen_en or de in seen_de:
            continue
        seen_en.add(en)
        seen_de.add(de)
        out.append((en, de, cat))
    return out
