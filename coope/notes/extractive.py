"""The offline summarizer: the sentences that matter, the decisions, and who does what.

Ranking. Every segment is split into sentences, and counts as at least one, because speech-to-text
often leaves out the full stops. Each sentence becomes a TF-IDF vector over its content words: stop
words and conversational filler are dropped and a light suffix-stripper folds "tests", "testing"
and "tested" together, so a word weighs more the fewer sentences use it. The sentences are then
ranked with TextRank: PageRank over the graph whose edge weights are the cosine similarities of
those vectors, so a sentence ranks high when it echoes what much of the meeting talks about, and a
one-off tangent ranks low however long it is. The graph is never built: with unit vectors, a
sentence's sum over all its neighbours is one dot product with a weighted sum of every vector, so
an iteration costs one pass over the words instead of one over every pair of sentences, and an
hour-long meeting ranks in a fraction of a second. The best few sentences that are not
near-duplicates of one already chosen are returned in meeting order, which reads as an account of
the meeting; pleasantries and sentences with too few content words never compete.

Decisions and action items come from phrase patterns ("we decided", "let's go with", "Alice will
...", "I'll ...", "action item: ...") matched case-insensitively, since transcripts are often all
lowercase. A decision is the sentence as spoken, tidied. An action item is the task in the
imperative ("Send the report by Friday") with its owner: the speaker for "I'll ...", the person
named for "Alice will ..." or "Carol, please ...", and None when nobody is. Who can be named is
who was in the meeting, when that is known: by any distinctive word of their username or display
name ("alice" or "Moreau" for alice, Alice Moreau); a word nobody is called by names no one
("Postgres will handle it"). When it is not known (a transcript from elsewhere), the speakers
are, and so is a capitalised word that looks like a name ("Dave will book the room").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from coope.notes.summary import ActionItem, Participant, Summary
from coope.notes.transcript import Segment

__all__ = ["ExtractiveSummarizer", "participant_named"]

MAX_SUMMARY_SENTENCES = 5
CANDIDATES_PER_SUMMARY_SENTENCE = 4  # a short meeting gets a short summary
MIN_CONTENT_WORDS = 3  # fewer than this is a reaction ("sounds good to me"), not a point
NEAR_DUPLICATE = 0.6  # cosine similarity above which two sentences say the same thing
DAMPING = 0.85
MAX_ITERATIONS = 50
TOLERANCE = 1e-6
MIN_DECISION_WORDS = 4
MIN_TASK_WORDS = 2

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further had hadn't has hasn't have haven't having
    he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm
    i've if in into is isn't it it'd it'll it's its itself let's me more most must mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same
    shall shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this
    those through to too under until up upon us very was wasn't we we'd we'll we're we've were
    weren't what what's when when's where where's which while who who's whom why why's will with
    won't would wouldn't you you'd you'll you're you've your yours yourself yourselves""".split()
)
# Words that carry no topic in speech; without them "okay yeah thanks everyone" has no content.
FILLER_WORDS = frozenset(
    """okay ok yeah yep yes nope um uh uhm erm hmm mm oh ah like just really actually basically
    literally gonna wanna gotta kinda sorta thanks thank everyone everybody anyone anybody
    someone somebody guys hello hi hey bye alright right cool great good nice sure well know
    think mean guess see hear sorry please mute muted unmute get got go going let lets say said
    thing things stuff kind sort bit lot maybe probably something anything everything nothing
    also still even now want need make""".split()
)
# Capitalised words that sit before "will" or "should" without being anyone's name.
NOT_NAMES = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december today tomorrow tonight everyone
    everybody someone somebody nobody anyone anybody team it this that which who what nothing
    everything something anything""".split()
)

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
HESITATION = re.compile(r"\b(?:um+|uh+|uhm|erm|hmm+)\b[,.]?", re.IGNORECASE)
LONE_I = re.compile(r"\bi\b(?!\.\w)")
PLEASANTRY = re.compile(
    r"^(?:thanks(?! to)|thank you|hello|hi|hey|good (?:morning|afternoon|evening)|welcome|bye"
    r"|see you|can (?:you|everyone|everybody) (?:hear|see)|(?:you're|you are) (?:on )?mute"
    r"|let me (?:share|stop sharing)|is my (?:screen|audio)|are we (?:recording|live)"
    r"|(?:that's|that is) (?:it|all)|any (?:other )?questions)\b",
    re.IGNORECASE,
)
# Said at the start or the end of a sentence without adding to it.
LEADING_FILLER = tuple(
    "okay|ok|so|well|yeah|yes|right|alright|all right|and|anyway|oh|now|cool|great|like|basically"
    "|actually".split("|")
)
TRAILING_FILLER = tuple(
    "okay|ok|yeah|alright|all right|right|i think|i guess|you know|anyway|thanks|thank you"
    "|sounds good|cool|then".split("|")
)
ASKING_WORDS = frozenset("ask asked asking want need get item items".split())
IGNORED_WORDS = STOP_WORDS | FILLER_WORDS
PREPOSITIONS = frozenset("by until till since before after from to for with at of on in".split())

DECISION = re.compile(
    r"\b(?:we(?:'ve| have)? (?:all )?(?:decided|agreed|settled on)"
    r"|we(?:'ll| will| shall) (?:go|stick) with"
    r"|we(?:'re| are) (?:going|gonna) (?:to )?(?:go|stick) with|we(?:'re| are) going with"
    r"|let'?s (?:go|stick) with|the (?:final )?decision is|it'?s (?:been )?decided"
    r"|(?:final )?decision:|decided:|agreed:|^agreed\b)",
    re.IGNORECASE,
)
# "have we decided", "if we agreed": the pattern without the decision.
QUESTION_OR_CONDITION = re.compile(
    r"(?:^(?:have|has|did|do|does|should|shall|could|can|are|is|was|were|when|why|whether)\b.*"
    r"|\b(?:have|has|did|if|whether|unless|once|until|before)\s*)$",
    re.IGNORECASE,
)

_NAME = r"(?P<name>[A-Za-z][A-Za-z'-]*)"
_TASK = r"\s+(?:please\s+)?(?P<task>\S)"
FIRST_PERSON = re.compile(
    r"\bi(?:'ll| will| shall|'m going to| am going to|'m gonna| am gonna| need to)" + _TASK,
    re.IGNORECASE,
)
NAMED_COMMITMENT = re.compile(
    r"\b" + _NAME + r",?\s+(?:will|shall|should|must|needs to|has to|is going to|is gonna)" + _TASK,
    re.IGNORECASE,
)
NAMED_TO = re.compile(r"\b(?:(?P<before>[\w']+)[\s:,]+)?" + _NAME + r"\s+to" + _TASK, re.IGNORECASE)
NAME_THEN_REQUEST = re.compile(
    r"\b" + _NAME + r",?\s+(?:please|(?:can|could|would|will) you(?:\s+please)?)\s+(?P<task>\S)",
    re.IGNORECASE,
)
REQUEST_THEN_NAME = re.compile(
    r"\b(?:can|could|would|will) you,?\s+" + _NAME + r",?" + _TASK, re.IGNORECASE
)
UNOWNED = re.compile(
    r"\b(?:(?:someone|somebody|anyone|anybody)\s+(?:needs to|should|has to|must|will need to)"
    r"|we need (?:someone|somebody) to|^to-?do\b:?|\bto-?do:)" + r"\s*(?P<task>\S)",
    re.IGNORECASE,
)
# "action item ..." opening a sentence, or "action item: ..." anywhere; not "the action items".
ACTION_ITEM = re.compile(
    r"(?:^action items?\b(?:\s+for\s+(?P<name>\w+))?|\baction items?(?:\s+for\s+(?P<for>\w+))?:)"
    r"[\s:,-]*(?P<task>\S)",
    re.IGNORECASE,
)
# Where a run-on spoken sentence moves from the task to something else.
TASK_END = re.compile(
    r";|\s(?:but|because|okay|ok|alright|thanks|thank you|bye)\b"
    r"|\s(?:and|so|then)\s+(?:then\s+|also\s+)?(?:we|i|you|they|he|she|it)\b",
    re.IGNORECASE,
)
TASK_LEAD = re.compile(
    r"^(?:(?:also|just|then|definitely|actually|quickly|go ahead and)\s+)+", re.IGNORECASE
)
NOT_TASKS = re.compile(
    r"^(?:be|been|have|happen|probably|not|never|likely|share (?:my|the) screen|stop sharing"
    r"|stop there|leave it there|let you|see you|talk to you|catch you|go first|start (?:with|us)"
    r"|kick|hand (?:it )?over|pass it|mute|unmute|drop|hop|jump|wrap|keep (?:it|this) short"
    r"|leave (?:early|now|at|in)|say|admit)\b",
    re.IGNORECASE,
)

Vector = dict[str, float]


@dataclass(frozen=True)
class _Sentence:
    speaker: str
    text: str


@dataclass(frozen=True)
class _Cue:
    """Where an action item starts in a sentence, where its task starts, and whose it is."""

    start: int
    task_start: int
    owner: str | None


class ExtractiveSummarizer:
    """Summarizes a transcript with no model and no network; the same input gives the same notes."""

    def summarize(
        self, segments: list[Segment], participants: Sequence[Participant] | None = None
    ) -> Summary:
        """The key sentences in meeting order, the decisions, and the action items with owners
        (among `participants` and the speakers, when `participants` is given)."""
        sentences = _split_sentences(segments)
        if not sentences:
            return Summary()
        people = _People([s.speaker for s in segments], participants)
        return Summary(
            summary=_key_sentences(sentences),
            decisions=_decisions(sentences),
            action_items=_action_items(sentences, people),
        )


def _split_sentences(segments: Sequence[Segment]) -> list[_Sentence]:
    sentences = []
    for segment in segments:
        text = " ".join(HESITATION.sub("", segment.text.replace("\u2019", "'")).split())
        sentences += [_Sentence(segment.speaker, p) for p in SENTENCE_BREAK.split(text) if p]
    return [s for s in sentences if WORD.search(s.text.lower())]


# Ranking


def _content_terms(text: str) -> list[str]:
    words = WORD.findall(text.lower())
    return [_stem(w) for w in words if len(w) > 1 and w not in IGNORED_WORDS]


def _stem(word: str) -> str:
    """Folds the commonest English inflections; crude, but the same word always folds the same."""
    for suffix in ("'s", "ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _tfidf_vectors(documents: Sequence[Sequence[str]]) -> list[Vector]:
    frequency = Counter(term for terms in documents for term in set(terms))
    count = len(documents)
    vectors = []
    for terms in documents:
        weights = {
            term: (1 + math.log(n)) * math.log(1 + count / frequency[term])
            for term, n in Counter(terms).items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values()))
        vectors.append({term: w / norm for term, w in weights.items()})
    return vectors


def _dot(small: Vector, large: Vector) -> float:
    return sum(weight * large.get(term, 0.0) for term, weight in small.items())


def _weighted_sum(vectors: Sequence[Vector], factors: Sequence[float]) -> Vector:
    total: Vector = {}
    for vector, factor in zip(vectors, factors, strict=True):
        for term, weight in vector.items():
            total[term] = total.get(term, 0.0) + factor * weight
    return total


def _textrank(vectors: Sequence[Vector]) -> list[float]:
    """PageRank over the cosine-similarity graph of unit vectors, without building the graph.

    Sentence i's similarity to all others is `v_i . sum(v_j) - 1` (its own similarity is 1, or 0
    for an empty vector), and what flows into it is `v_i . sum(v_j * r_j / degree_j)` less its own
    share; both are one pass over the words.
    """
    count = len(vectors)
    selves = [1.0 if v else 0.0 for v in vectors]
    everything = _weighted_sum(vectors, [1.0] * count)
    degrees = [max(0.0, _dot(v, everything) - s) for v, s in zip(vectors, selves, strict=True)]
    ranks = [1.0 / count] * count
    for _ in range(MAX_ITERATIONS):
        shares = [r / d if d > 0 else 0.0 for r, d in zip(ranks, degrees, strict=True)]
        inflow = _weighted_sum(vectors, shares)
        updated = [
            (1 - DAMPING) / count + DAMPING * max(0.0, _dot(v, inflow) - share * self_similarity)
            for v, share, self_similarity in zip(vectors, shares, selves, strict=True)
        ]
        converged = sum(abs(a - b) for a, b in zip(updated, ranks, strict=True)) < TOLERANCE
        ranks = updated
        if converged:
            break
    return ranks


def _key_sentences(sentences: Sequence[_Sentence]) -> list[str]:
    tidied = [_tidy(s.text) for s in sentences]
    terms = [_content_terms(t) for t in tidied]
    vectors = _tfidf_vectors(terms)
    ranks = _textrank(vectors)
    candidates = _summary_candidates(tidied, terms)
    wanted = min(
        MAX_SUMMARY_SENTENCES, math.ceil(len(candidates) / CANDIDATES_PER_SUMMARY_SENTENCE)
    )
    chosen: list[int] = []
    for i in sorted(candidates, key=lambda i: (-ranks[i], i)):
        if len(chosen) == wanted:
            break
        if all(_dot(vectors[i], vectors[j]) < NEAR_DUPLICATE for j in chosen):
            chosen.append(i)
    return [_as_sentence(tidied[i]) for i in sorted(chosen)]


def _summary_candidates(texts: Sequence[str], terms: Sequence[list[str]]) -> list[int]:
    """Statements with something to say; a meeting without any falls back to shorter ones."""
    statements = [
        i for i, text in enumerate(texts) if not PLEASANTRY.match(text) and not text.endswith("?")
    ]
    substantial = [i for i in statements if len(set(terms[i])) >= MIN_CONTENT_WORDS]
    return substantial or [i for i in statements if len(set(terms[i])) >= MIN_CONTENT_WORDS - 1]


# Decisions


def _decisions(sentences: Sequence[_Sentence]) -> list[str]:
    found: list[str] = []
    for sentence in sentences:
        text = _tidy(sentence.text)
        match = DECISION.search(text)
        if (
            match is None
            or text.endswith("?")
            or QUESTION_OR_CONDITION.search(text[: match.start()])
        ):
            continue
        if len(text.split()) >= MIN_DECISION_WORDS and not _repeats(text, found):
            found.append(_as_sentence(text))
    return found


def _repeats(text: str, earlier: Sequence[str]) -> bool:
    return any(_same_point(text, other) for other in earlier)


def _same_point(one: str, other: str) -> bool:
    """Whether two phrasings share nearly all their content words (or, lacking any, all words)."""
    a, b = set(_content_terms(one)), set(_content_terms(other))
    if not a or not b:
        a, b = set(WORD.findall(one.lower())), set(WORD.findall(other.lower()))
    return len(a & b) >= 0.8 * len(a | b)


# Action items


class _People:
    """The meeting's people (the speakers, and the participants when known), findable by any
    distinctive word of their names, in any case."""

    def __init__(
        self, speakers: Sequence[str], participants: Sequence[Participant] | None = None
    ) -> None:
        names: dict[str, list[str]] = {speaker: [speaker] for speaker in speakers}
        for participant in participants or ():
            names.setdefault(participant.username, [participant.username]).append(
                participant.display_name
            )
        by_word: dict[str, set[str]] = {}
        for person, called in names.items():
            for word in WORD.findall(" ".join(called).lower()):
                if len(word) > 1 and not word.isdigit() and word not in IGNORED_WORDS:
                    by_word.setdefault(word, set()).add(person)
        self._by_word = {w: next(iter(s)) for w, s in by_word.items() if len(s) == 1}
        # Knowing who was there, a name none of them has is not a person's.
        self._everyone_known = participants is not None

    def speaker(self, word: str) -> str | None:
        return self._by_word.get(word.lower())

    def named(self, name: str) -> str | None:
        """The one person the words of `name` point to ("Alice Moreau", "Alice", "moreau"), if
        they point to exactly one."""
        people = {self.speaker(word) for word in WORD.findall(name.lower())} - {None}
        return people.pop() if len(people) == 1 else None

    def owner(self, word: str, *, strangers: bool = True) -> str | None:
        """The person `word` names; else, when who was there is not known, `word` itself if it
        looks like someone's name."""
        known = self.speaker(word)
        if known is not None or not strangers or self._everyone_known:
            return known
        lower = word.lower()
        looks_like_a_name = word[:1].isupper() and word.isalpha() and not word.isupper()
        ordinary = lower in STOP_WORDS or lower in FILLER_WORDS or lower in NOT_NAMES
        return word if looks_like_a_name and not ordinary else None


def participant_named(name: str, participants: Sequence[Participant]) -> str | None:
    """The username of the participant `name` calls, as an owner is found in a transcript: by
    their username, or their display name or a distinctive word of either, in any case. None
    when it calls nobody in the meeting, or more than one."""
    wanted = name.strip().casefold()
    for participant in participants:
        if participant.username.casefold() == wanted:
            return participant.username
    return _People([], participants).named(name)


def _action_items(sentences: Sequence[_Sentence], people: _People) -> list[ActionItem]:
    items: list[ActionItem] = []
    for sentence in sentences:
        for item in _items_in(sentence, people):
            _add_item(items, item)
    return items


def _add_item(items: list[ActionItem], item: ActionItem) -> None:
    """Appends `item` unless it repeats one; a repeat that names an owner fills in a missing one."""
    for i, earlier in enumerate(items):
        if not _same_point(item.text, earlier.text):
            continue
        if item.owner in (None, earlier.owner):
            return
        if earlier.owner is None:
            items[i] = replace(earlier, owner=item.owner)
            return
    items.append(item)


def _items_in(sentence: _Sentence, people: _People) -> Iterator[ActionItem]:
    """Each cue's task runs to the next cue, so "Alice will X and Bob will Y" gives two items."""
    text = _tidy(sentence.text)
    cues = sorted(_cues(text, sentence.speaker, people), key=lambda c: (c.start, c.task_start))
    for n, cue in enumerate(cues):
        end = min((c.start for c in cues[n + 1 :] if c.start >= cue.task_start), default=len(text))
        task = _task(text[cue.task_start : end])
        if task is not None:
            yield ActionItem(task, cue.owner)


def _cues(text: str, speaker: str, people: _People) -> Iterator[_Cue]:
    for match in FIRST_PERSON.finditer(text):
        yield _Cue(match.start(), match.start("task"), speaker)
    for match in UNOWNED.finditer(text):
        yield _Cue(match.start(), match.start("task"), None)
    for pattern in (NAMED_COMMITMENT, NAME_THEN_REQUEST, REQUEST_THEN_NAME):
        for match in pattern.finditer(text):
            owner = people.owner(match["name"])
            if owner is not None:
                yield _Cue(match.start(), match.start("task"), owner)
    for match in NAMED_TO.finditer(text):
        # "Bob to update the docs". "asked Dave to" may name someone absent; "sent to Bob to" is
        # not about what Bob does.
        before = (match["before"] or "").lower()
        owner = people.owner(match["name"], strangers=before in ASKING_WORDS)
        if owner is not None and before not in PREPOSITIONS:
            yield _Cue(match.start("name"), match.start("task"), owner)
    for match in ACTION_ITEM.finditer(text):
        name = match["name"] or match["for"]
        yield _Cue(match.start(), match.start("task"), people.owner(name) if name else None)


def _task(spoken: str) -> str | None:
    """The task as an imperative phrase, or None if what follows the cue is not a task."""
    end = TASK_END.search(spoken)
    words = _strip_filler(TASK_LEAD.sub("", spoken[: end.start() if end else None].strip()))
    text = " ".join(words).rstrip(",;:.!?- ")
    for dangling in (" and", " so", " or"):
        text = text.removesuffix(dangling)
    if len(text.split()) < MIN_TASK_WORDS or NOT_TASKS.match(text):
        return None
    return _capitalise(LONE_I.sub("I", text))


# Tidying


def _tidy(text: str) -> str:
    """The sentence without leading or trailing filler, with "i" as "I"."""
    return LONE_I.sub("I", " ".join(_strip_filler(text)))


def _strip_filler(text: str) -> list[str]:
    words = text.split()
    while words and (n := _filler_length(words, LEADING_FILLER, at_end=False)):
        words = words[n:]
    while words and (n := _filler_length(words, TRAILING_FILLER, at_end=True)):
        words = words[:-n]
    return words


def _filler_length(words: list[str], phrases: Sequence[str], *, at_end: bool) -> int:
    """How many words at one end of `words` are one of `phrases` (0 if none)."""
    bare = [w.strip(",.!?;:").lower() for w in words]
    for phrase in phrases:
        size = len(phrase.split())
        edge = bare[-size:] if at_end else bare[:size]
        if len(bare) > size and edge == phrase.split():
            # "we'll decide by then": a "then" after a preposition is not filler.
            return 0 if phrase == "then" and bare[-2] in PREPOSITIONS else size
    return 0


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _as_sentence(text: str) -> str:
    text = _capitalise(text.rstrip(",;:- "))
    return text if text.endswith((".", "!", "?")) else text + "."
