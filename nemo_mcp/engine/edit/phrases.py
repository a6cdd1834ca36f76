"""Key phrases: the noun phrase that best names what a stretch of speech is about.

No tagger is loaded for this: a chapter is a few sentences, and a title needs only a run of
content words that reads as a name. Words are sorted into three kinds by small word lists and
their endings. *Content* words make phrases. *Links* ("of", "and", with an article after "of")
may join two runs of content words, as in "Parts of a Whole". Everything else is a
*boundary*: function words, adverbs (-ly), vague words ("today", "together"), and verbs.

Verbs are the hard part, since many verbs are nouns too ("change", "work"). A listed verb is
always a boundary in its past forms ("called", "threw"). Its -s form is a boundary after a
singular word or a pronoun ("quantization throws", "it stores"). Its base form is a boundary
after "to", a modal or a pronoun ("to add", "we store"). Used otherwise, it counts as a noun
("the change").

A phrase scores by the content words it holds. Each word weighs its count in the chapter times
its rarity in the other chapters (a TF-IDF over the chapters); a phrase sums its words and
gains for each time it is said whole. The title extends the single best word to the best
phrase that holds it, so "reactions" becomes "Light Reactions", while a run of rare words said
once ("small carrier molecules") does not win over what the chapter keeps saying.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from nemo_mcp.engine.edit.spoken import STOP_WORDS, stem

__all__ = ["key_phrase", "title_case"]

_MAX_CONTENT_WORDS: Final = 3
# The best word grows into a longer phrase holding it when that phrase scores at least this share of it.
_GROW: Final = 0.5
_SPLIT: Final = re.compile(r"[.,;:!?()\[\]\"“”‘’…—–\n，。、；：！？（）「」《》]+|\s-\s")
_TOKEN: Final = re.compile(r"[^\W_][\w'’-]*", re.UNICODE)
# Words a talk says everywhere that name no topic (beyond the function words of ``spoken``).
_VAGUE_WORDS: Final = """
just almost exactly only instead finally barely away sum every still long short next called look
make like one two three first second today welcome okay right well actually basically see know
together week weeks time times lot lots kind sort bit example examples yes hello everyone lecture
lesson last new different same before after between under over above below across behind during
without within around against toward towards upon many few several various each both less least
enough another other others own
"""
_VAGUE: Final = frozenset(_VAGUE_WORDS.split())
# Verbs a lecturer says: boundaries in the forms the module notes give.
_VERB_WORDS: Final = """
be have do say go get make know think take see come want look use find give tell work call try ask
need feel become leave put mean keep let begin seem help show hear play run move live believe hold
bring happen write provide sit stand lose pay meet include continue set learn change lead understand
watch follow stop create speak read allow add spend grow open walk win offer remember consider appear
buy wait serve send expect build stay fall cut reach remain suggest raise pass sell require decide pull
throw predict store describe notice release produce fix measure breathe count match rewrite multiply
turn capture split pack cover explain discuss talk compare contain reduce increase compute convert
divide solve check apply absorb finish start look travel drop keep save load press click
"""
_VERBS: Final = frozenset(_VERB_WORDS.split())
_PAST_WORDS: Final = """
was were been said went gone got made knew known thought took taken saw seen came given gave told
found felt became left meant kept began begun brought held heard ran wrote written sat stood lost
paid met led understood fell spent grew grown won bought sent built threw thrown did done had
"""
_IRREGULAR_PAST: Final = frozenset(_PAST_WORDS.split())
_PRONOUNS: Final = frozenset(
    {"i", "you", "he", "she", "it", "we", "they", "which", "that", "who", "this", "there"}
)
_MODALS: Final = frozenset(
    {
        "to",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "not",
        "don't",
        "let's",
        "lets",
    }
)
_LINKS: Final = frozenset({"of", "and"})
_ARTICLES: Final = frozenset({"a", "an", "the"})
# Kept lower case inside a title.
_MINOR: Final = frozenset({"a", "an", "the", "of", "and", "or", "in", "on", "to", "for", "with", "by", "at"})


def _verb_base(word: str) -> str | None:
    """The listed verb ``word`` is a form of, and which form ('', 's', 'ed', 'ing'), or None."""
    w = word.lower()
    if w in _VERBS:
        return ""
    for suffix, form in (
        ("ies", "s"),
        ("es", "s"),
        ("s", "s"),
        ("ied", "ed"),
        ("ed", "ed"),
        ("d", "ed"),
        ("ing", "ing"),
    ):
        if not w.endswith(suffix):
            continue
        root = w[: -len(suffix)]
        for base in (
            root,
            root + "e",
            root + "y",
            root[:-1] if len(root) > 2 and root[-1] == root[-2] else root,
        ):
            if base in _VERBS:
                return form
    return None


def _is_verb(word: str, before: str) -> bool:
    """Whether ``word``, said after ``before`` (lower case, '' at a clause start), acts as a verb here."""
    w = word.lower()
    if w in _IRREGULAR_PAST:
        return True
    form = _verb_base(w)
    if form is None or form == "ing":
        return False  # "-ing" forms name things often enough ("machine learning")
    if form == "ed":
        return True
    if form == "s":
        return before in _PRONOUNS or (
            before.isalpha() and not before.endswith("s") and before not in STOP_WORDS
        )
    return before in _MODALS or before in _PRONOUNS


def _is_content(word: str, before: str) -> bool:
    w = word.lower()
    return (
        len(w) > 2
        and w not in STOP_WORDS
        and w not in _VAGUE
        and not w.isdigit()
        and not (w.endswith("ly") and len(w) > 4)
        and not _is_verb(w, before)
    )


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]  # as said, links included
    content: tuple[str, ...]  # the content words' stems


def _runs(text: str) -> list[list[tuple[str, bool]]]:
    """Each clause's words as (word, is content), function words that cannot link dropped as breaks."""
    runs: list[list[tuple[str, bool]]] = []
    for part in _SPLIT.split(text):
        run: list[tuple[str, bool]] = []
        before = ""
        for m in _TOKEN.finditer(part):
            word = m.group(0).strip("'’-")
            if not word:
                continue
            lower = word.lower()
            if _is_content(word, before):
                run.append((word, True))
            elif run and (lower in _LINKS or (lower in _ARTICLES and run[-1][0].lower() == "of")):
                run.append((word, False))
            else:
                if run:
                    runs.append(run)
                run = []
            before = lower
        if run:
            runs.append(run)
    return runs


def _phrases(text: str) -> list[_Phrase]:
    """Every span of a run that starts and ends on a content word, holding at most three of them."""
    out: list[_Phrase] = []
    for run in _runs(text):
        for i, (_, first) in enumerate(run):
            if not first:
                continue
            content = 0
            for j in range(i, len(run)):
                word, is_content = run[j]
                if not is_content:
                    continue
                content += 1
                if content > _MAX_CONTENT_WORDS:
                    break
                words = tuple(w for w, _ in run[i : j + 1])
                stems = tuple(stem(w) for w, c in run[i : j + 1] if c)
                if len(set(stems)) < len(stems):
                    continue  # "light and light" is not a phrase
                if len(words) == 1 and _verb_base(word) == "ing":
                    continue  # "storing" alone is an action; "video editing" names a thing
                out.append(_Phrase(words, stems))
    return out


def title_case(words: Sequence[str]) -> str:
    """Words as a title: each capitalised but the minor ones inside; acronyms and names kept as said."""
    out = []
    for i, word in enumerate(words):
        lower_inside = word[1:] == word[1:].lower()
        if i and word.lower() in _MINOR:
            out.append(word.lower())
        elif lower_inside:
            out.append(word[:1].upper() + word[1:])
        else:
            out.append(word)  # "ATP", "iPhone"
    return " ".join(out)


def key_phrase(text: str, others: Sequence[str] = ()) -> str:
    """The noun phrase that best says what ``text`` is about, compared with ``others`` (title-cased, or '')."""
    phrases = _phrases(text)
    if not phrases:
        return ""
    counts = Counter(st for p in phrases if len(p.content) == 1 for st in p.content)
    seen_in = Counter(st for other in others for st in {stem(t) for t in _TOKEN.findall(other)})
    n = len(others) + 1

    def weight(st: str) -> float:
        return counts[st] * math.log((n + 1) / (1 + seen_in[st])) + 0.01

    said_whole = Counter(p.content for p in phrases)

    def score(p: _Phrase) -> float:
        return sum(weight(st) for st in p.content) * (1 + math.log(said_whole[p.content]))

    order = {p.content: i for i, p in reversed(list(enumerate(phrases)))}
    best_word = max(counts, key=lambda st: (weight(st), -order[(st,)]))
    best = next(p for p in phrases if p.content == (best_word,))
    longer = [p for p in phrases if best_word in p.content and len(p.content) > 1]
    if longer:  # a name of several words reads better, unless it is a passing mention
        grown = max(longer, key=lambda p: (score(p), -order[p.content]))
        if score(grown) >= _GROW * score(best):
            best = grown
    surface = Counter(p.words for p in phrases if p.content == best.content).most_common(1)[0][0]
    return title_case(surface)
