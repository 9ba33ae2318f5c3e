"""The behavioural test suite: templates and fillers by capability (harness: `behaviour`).

Texts are short and Reddit-like, as in GoEmotions. GoEmotions replaced names and
religions with `[NAME]` and `[RELIGION]`, so the identity tests use those masks as the
reference text: a model trained on the masked data has seen only them, and every
concrete name or religion put in their place should leave the labels unchanged.
"""

from __future__ import annotations

import random

from emotag.analysis.behaviour import DIR, INV, MFT, BehaviourTest, Case, expand

POSITIVE_ADJ = ("happy", "glad", "thrilled", "excited", "pleased")
NEGATIVE_ADJ = ("bad", "terrible", "awful", "annoying", "sad")
HAPPY_BASE = ("I'm {adj} about this.", "This makes me {adj}.", "Honestly I'm {adj} today.")
INTENSIFIERS = ("so", "very", "so very", "really", "extremely", "incredibly")
HEDGES = ("a bit", "kind of", "somewhat", "slightly", "a little")

# emoji -> the concept it signals on its own.
EMOJI = {
    "😂": "amusement", "🤣": "amusement", "😃": "joy", "😢": "sadness", "😭": "sadness",
    "😡": "anger", "😠": "anger", "❤️": "love", "😍": "love", "😱": "fear",
    "🤢": "disgust", "🙏": "gratitude", "😮": "surprise",
}  # fmt: skip
# Texts with no emotion of their own, for emoji-plus-text cases.
PLAIN_TEXTS = (
    "My brother just called me",
    "Just saw the new episode",
    "The meeting got moved to Friday",
    "She replied to my comment",
)

# Sentences whose labels typos, casing and elongation should not change.
INVARIANCE_BASES = (
    "I love this so much, thank you!",
    "This is really sad news.",
    "Why would anyone do that?",
    "I'm so angry right now.",
    "That is hilarious, I can't stop laughing.",
    "I'm really scared about the exam tomorrow.",
    "Wow, I did not expect that at all.",
    "Congratulations, you deserve it!",
)
ELONGATIONS = {"so": "soooo", "love": "loooove", "really": "reeeally", "wow": "wooow"}

NAMES = ("Emily", "Jamal", "Mohammed", "Wei", "Carlos", "Priya", "Olga", "Kwame")
RELIGIONS = ("Muslim", "Christian", "Jewish", "Hindu", "Buddhist", "Sikh", "atheist")
NATIONALITIES = ("American", "Mexican", "Nigerian", "Chinese", "Indian", "German", "Iranian")
GENDERS = ("man", "woman", "guy", "girl", "non-binary person", "trans woman", "trans man")
NAME_TEMPLATES = (
    "{x} brought me soup when I was sick, so kind.",
    "{x} is coming over tonight.",
    "I can't believe {x} said that to me.",
)
GROUP_TEMPLATES = (  # {x} is a religion or nationality adjective
    "My {x} neighbour helped me move today.",
    "A {x} guy commented on my post.",
    "Honestly, the {x} family next door is so loud.",
)
GENDER_TEMPLATES = (
    "The {x} at the counter was really rude to me.",
    "A {x} I work with got promoted today.",
    "I saw a {x} crying on the bus.",
)

SARCASM = (
    "Oh great, another Monday.",
    "Wow, I just love being stuck in traffic for two hours.",
    "Fantastic, my phone died again.",
    "Yeah, because that worked so well last time.",
    "Oh perfect, it's raining on my day off.",
    "Great job breaking the build, genius.",
    "I'm so thrilled to be working this weekend.",
    "Nothing says fun like doing taxes.",
)


def negation_tests() -> list[BehaviourTest]:
    """"I'm not happy" must not be joy; "not bad at all" must not be a negative emotion."""
    negated_positive = [
        *expand("I'm not {adj}.", adj=POSITIVE_ADJ),
        *expand("I am not {adj} about this at all.", adj=POSITIVE_ADJ),
        *expand("I wasn't {adj} with how it went.", adj=POSITIVE_ADJ),
    ]
    negated_negative = [
        *expand("Not {adj} at all.", adj=NEGATIVE_ADJ),
        *expand("It wasn't {adj} at all, I enjoyed it.", adj=NEGATIVE_ADJ),
        *expand("Honestly, this is not {adj}.", adj=NEGATIVE_ADJ),
    ]
    return [
        BehaviourTest("negation", "negated positive is not joy", MFT,
                      [Case((t,), forbid="joy") for t in negated_positive]),
        BehaviourTest("negation", "negated negative is not a negative emotion", MFT,
                      [Case((t,), forbid="negative emotion") for t in negated_negative]),
    ]  # fmt: skip


def intensity_tests() -> list[BehaviourTest]:
    """Intensifiers must not lower joy's probability; hedges must not raise it."""
    up, down = [], []
    for base in HAPPY_BASE:
        plain = base.format(adj="happy")
        up += [Case((plain, base.format(adj=f"{w} happy")), concept="joy", direction="up")
               for w in INTENSIFIERS]  # fmt: skip
        down += [Case((plain, base.format(adj=f"{w} happy")), concept="joy", direction="down")
                 for w in HEDGES]  # fmt: skip
    return [
        BehaviourTest("intensifiers and hedges", "intensifier does not lower joy", DIR, up),
        BehaviourTest("intensifiers and hedges", "hedge does not raise joy", DIR, down),
    ]


def emoji_tests() -> list[BehaviourTest]:
    """Emoji alone, and emoji after an emotionless text, signal their emotion."""
    only = [Case((e,), expect=concept) for e, concept in EMOJI.items()]
    with_text = [
        Case((f"{text} {e}",), expect=concept)
        for text in PLAIN_TEXTS
        for e, concept in EMOJI.items()
    ]
    return [
        BehaviourTest("emoji", "emoji only", MFT, only),
        BehaviourTest("emoji", "emoji after a plain text", MFT, with_text),
    ]


def swap_typo(text: str, rng: random.Random) -> str:
    """`text` with two adjacent letters of one longer word swapped."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if sum(c.isalpha() for c in w) >= 4]
    i = rng.choice(long)
    j = rng.randrange(len(words[i]) - 2)
    word = words[i]
    words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    return " ".join(words)


def elongate(text: str) -> str:
    """`text` with its first elongatable word stretched ("so" -> "soooo")."""
    words = text.split(" ")
    for i, word in enumerate(words):
        core = word.lower().strip(",.!?")
        if core in ELONGATIONS:
            words[i] = word.lower().replace(core, ELONGATIONS[core], 1)
            return " ".join(words)
    return text + "!!!"  # nothing to stretch: repeated punctuation instead


def robustness_tests(seed: int = 0) -> list[BehaviourTest]:
    """Typos, casing and elongation must not change the labels."""
    rng = random.Random(seed)
    # One case per variant, so a rate reads as "share of perturbations that change labels".
    typos = [Case((t, swap_typo(t, rng))) for t in INVARIANCE_BASES for _ in range(2)]
    casing = [Case((t, variant)) for t in INVARIANCE_BASES for variant in (t.lower(), t.upper())]
    stretched = [Case((t, elongate(t))) for t in INVARIANCE_BASES]
    return [
        BehaviourTest("typos, casing, elongation", "typo", INV, typos),
        BehaviourTest("typos, casing, elongation", "casing", INV, casing),
        BehaviourTest("typos, casing, elongation", "elongation", INV, stretched),
    ]


def identity_tests() -> list[BehaviourTest]:
    """Names, religions, nationalities and genders in one sentence: same labels (fairness)."""

    def group(templates, reference, fillers):
        # One (reference, substitution) pair per case: the rate is the share of
        # substitutions that change the labels.
        return [
            Case((t.format(x=reference), filled))
            for t in templates
            for filled in expand(t, x=fillers)
        ]

    note = "reference: GoEmotions' mask"
    return [
        BehaviourTest("identity terms", "names", INV, group(NAME_TEMPLATES, "[NAME]", NAMES),
                      note=f"{note} [NAME]"),
        BehaviourTest("identity terms", "religions", INV,
                      group(GROUP_TEMPLATES, "[RELIGION]", RELIGIONS), note=f"{note} [RELIGION]"),
        BehaviourTest("identity terms", "nationalities", INV,
                      group(GROUP_TEMPLATES, NATIONALITIES[0], NATIONALITIES[1:])),
        BehaviourTest("identity terms", "genders", INV,
                      group(GENDER_TEMPLATES, GENDERS[0], GENDERS[1:])),
    ]  # fmt: skip


def sarcasm_tests() -> list[BehaviourTest]:
    """Sarcastic praise of a bad situation is not joy: a known-hard capability."""
    return [
        BehaviourTest("sarcasm", "sarcastic praise is not joy", MFT,
                      [Case((t,), forbid="joy") for t in SARCASM], note="known hard"),
    ]  # fmt: skip


def build_suite(seed: int = 0) -> list[BehaviourTest]:
    """Every test of the suite, by capability; `seed` fixes the typo positions."""
    return [
        *negation_tests(),
        *intensity_tests(),
        *emoji_tests(),
        *robustness_tests(seed),
        *identity_tests(),
        *sarcasm_tests(),
    ]
