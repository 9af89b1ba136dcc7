"""A person's taste in words: what the photos they liked show, against the ones they passed on. Pure Python.

Each photo carries a few words for what it shows (Photo.scene, from the backbone's ImageNet head at
prediction time: "seashores", "palaces", "skyscrapers"...). A word describes the person's taste only
when it clearly separates their likes from their nopes: it was on at least MIN_PHOTOS swiped photos,
and the share of those photos they liked (smoothed: one like and one nope added) is at least
MARGIN above, or below, their like rate over all their swipes.
"""

from collections.abc import Iterable, Sequence

MIN_PHOTOS = 2
MARGIN = 0.3
MIN_WORD_PROBABILITY = 0.2  # a word the photo shows only faintly does not count for it
LIMIT = 3


def taste_words(swipes: Iterable[tuple[Sequence, bool]]) -> tuple[list[str], list[str]]:
    """(words of what they like, words of what they pass on), strongest first, from (scene, liked) pairs."""
    seen: dict[str, int] = {}
    liked: dict[str, int] = {}
    total = likes = 0
    for scene, was_liked in swipes:
        total += 1
        likes += was_liked
        for word in {word for word, probability in scene or [] if probability >= MIN_WORD_PROBABILITY}:
            seen[word] = seen.get(word, 0) + 1
            liked[word] = liked.get(word, 0) + was_liked
    if not total:
        return [], []
    overall = likes / total
    lift = {word: (liked[word] + 1) / (n + 2) - overall for word, n in seen.items() if n >= MIN_PHOTOS}
    ups = sorted((w for w, d in lift.items() if d >= MARGIN), key=lambda w: (-lift[w], -seen[w], w))
    downs = sorted((w for w, d in lift.items() if d <= -MARGIN), key=lambda w: (lift[w], -seen[w], w))
    return ups[:LIMIT], downs[:LIMIT]


def sentence(likes: list[str], passes: list[str]) -> str:
    """ "You like seashores and palaces, and pass on skyscrapers." ('' when there is nothing to say.)"""
    parts = []
    if likes:
        parts.append(f"you like {_listed(likes)}")
    if passes:
        parts.append(f"pass on {_listed(passes)}" if likes else f"you pass on {_listed(passes)}")
    text = ", and ".join(parts)
    return text[:1].upper() + text[1:] + "." if text else ""


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
