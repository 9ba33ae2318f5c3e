"""Text normalisation for short social-media text, written once in `tf.strings` ops.

The same `TextNormalizer` runs eagerly while the tokenizer is fitted and the data is
encoded, and inside the exported SavedModel, so training and serving cannot drift
apart. Every step is a core TensorFlow op (no tensorflow-text), so plain TensorFlow
loads the exported graph.

Steps, in order:
1. Per-character map (a lookup table): emoji become their `emoji.demojize` name as
   separate words ("😂" -> " face with tears of joy "), emoji modifiers and zero-width
   characters vanish, control characters and unicode spaces become spaces. Invalid
   UTF-8 bytes become U+FFFD first.
2. Lowercasing (unicode aware).
3. URLs -> `<url>`, user mentions (`@bob`, `/u/bob`) -> `<user>`.
4. Contractions expanded ("can't" -> "can not", "dont" -> "do not").
5. Numbers -> `<number>`.
6. Elongations squashed to two letters ("soooo" -> "soo").
7. Punctuation split off as separate tokens; `[name]`, `[religion]` and the
   placeholders above stay single tokens; whitespace folded.

Tweet options (off by default, so configs saved before they existed behave as before;
`PreprocessConfig.tweet()` turns them on). Their tokens follow the GloVe Twitter
preprocessing, so those vectors know them:
- `split_hashtags` (before step 2, as case is needed): "#SoHappy" -> "so happy".
  Hashtags are split at lower->upper ("SoHappy" -> "So Happy") and upper->upper+lower
  ("ILoveNY" -> "I Love NY", "HTMLParser" -> "HTML Parser") boundaries and at
  underscores; an all-lowercase hashtag ("#sohappy") stays one word, as splitting it
  would need a dictionary. URLs are replaced first so a "#fragment" stays in its URL.
- `hashtag_marker`: the "#" becomes a `<hashtag>` token ("#SoHappy" -> "<hashtag> so
  happy" with splitting, "<hashtag> sohappy" without); else a split hashtag loses it.
- `squash_punctuation` (before step 7): a run of two or more of `! ? .` becomes its
  last character and a `<repeat>` token ("!!!!" -> "! <repeat>", "?!?!" -> "! <repeat>",
  "..." -> ". <repeat>"), so emphasis is one feature whatever the run's length.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
import sys
import unicodedata
from pathlib import Path

import emoji
import tensorflow as tf

FORMAT_VERSION = 1

# Tokens the normaliser may emit that punctuation splitting must keep whole.
SPECIAL_TOKENS = ("[name]", "[religion]", "<url>", "<user>", "<number>")
# Emitted by the tweet options only; kept out of SPECIAL_TOKENS so that a config without
# them splits a literal "<repeat>" typed in a text exactly as it always did.
HASHTAG_TOKEN = "<hashtag>"
REPEAT_TOKEN = "<repeat>"

# Characters that modify the emoji before them; dropping them keeps "👍🏽" == "👍".
_EMOJI_MODIFIERS = (
    [chr(c) for c in range(0x1F3FB, 0x1F400)]  # skin tones
    + [chr(c) for c in range(0x1F1E6, 0x1F200)]  # regional indicators (flag halves)
    + ["\ufe0f", "\ufe0e", "\u20e3"]  # variation selectors, keycap
)

# Texts made of these characters only are left as they are by the char map (RE2 in the
# graph, Python's re when the map is checked).
_PLAIN_ASCII = r"[\t\n\r\x20-\x7e]*"

_APOSTROPHES = r"[\x{2019}\x{2018}\x{02BC}`\x{00B4}]"
_URL = r"(?:https?://|www\.)\S+"
_USER = r"(^|[^\pL\pN_/])(?:@|/?u/)[\pL\pN_\-]+"
_NUMBER = r"\pN+(?:[.,:]\pN+)*"
# A "#" after a non-word character (or at the start), then a word with a letter: not
# "C#", "&#39;" or "#1". Group 2 is the body.
_HASHTAG = r"(^|[^\pL\pN_&])#([\pN_]*\pL[\pL\pN_]*)"
_HASHTAG_WORD = r"#[\pN_]*\pL[\pL\pN_]*"
# Case boundaries inside a hashtag body (RE2 has no lookaround, hence two rules).
_CAMEL_CASE = ((r"(\p{Ll})(\p{Lu})", r"\1 \2"), (r"(\p{Lu})(\p{Lu}\p{Ll})", r"\1 \2"))
_REPEATED_PUNCTUATION = r"([!?.]){2,}"

# (pattern, rewrite) pairs applied in order; patterns are RE2 (no lookaround, no
# back-references), which is why the irregular forms come before the general suffixes.
_CONTRACTIONS = (
    (r"\bwon'?t\b", "will not"),
    (r"\bcan'?t\b", "can not"),
    (r"\bshan't\b", "shall not"),
    (r"\bain'?t\b", "is not"),
    (r"\blet's\b", "let us"),
    (r"\by'all\b", "you all"),
    (r"\b(do|does|did|is|was|are|were|could|should|would|have|has|had|must|need)nt\b", r"\1 not"),
    (r"\bim\b", "i am"),
    (r"\bive\b", "i have"),
    (r"\byoure\b", "you are"),
    (r"\btheyre\b", "they are"),
    (r"\b(that|what)s\b", r"\1 is"),
    (r"n't\b", " not"),
    (r"'re\b", " are"),
    (r"'m\b", " am"),
    (r"'ll\b", " will"),
    (r"'ve\b", " have"),
    (r"'d\b", " would"),
    (r"\b(i|you|he|she|it|that|there|here|what|who|where|how)'s\b", r"\1 is"),
)


def _elongation_rules(letters: str = string.ascii_lowercase) -> list[tuple[str, str]]:
    """Squash runs of 3+ identical letters to two, without back-references.

    RE2 rewrites only know groups 1-9, so the alphabet goes in chunks of nine;
    unmatched groups rewrite to the empty string.
    """
    rules = []
    for start in range(0, len(letters), 9):
        chunk = letters[start : start + 9]
        pattern = "|".join(f"({c}){c}{{2,}}" for c in chunk)
        rewrite = "".join(f"\\{i}\\{i}" for i in range(1, len(chunk) + 1))
        rules.append((pattern, rewrite))
    return rules


def build_char_map() -> dict[str, str]:
    """Returns the per-character replacement table (step 1 of the module docstring).

    Built from the installed `emoji` package and Python's unicode database, then stored
    in `preprocess_config.json`, so a saved run does not depend on either version.
    """
    table: dict[str, str] = {}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        if category == "Cc" or category in ("Zs", "Zl", "Zp"):
            table[char] = " "
        elif category == "Cf":
            table[char] = ""
    for glyph in emoji.EMOJI_DATA:
        stripped = glyph.replace("\ufe0f", "")
        if len(stripped) == 1:
            name = emoji.demojize(stripped, delimiters=("", "")).replace("_", " ")
            table[stripped] = f" {name} "
    for char in _EMOJI_MODIFIERS:
        table[char] = ""
    # ASCII whitespace stays as is: the folding step handles it.
    for char in " \t\n\r":
        table.pop(char, None)
    return table


@dataclasses.dataclass
class PreprocessConfig:
    """Every setting that decides how raw text becomes tokens."""

    lowercase: bool = True  # unicode-aware lowercasing
    demojize: bool = True  # emoji -> words; else emoji kept as symbols
    replace_urls: bool = True  # URLs -> <url>
    replace_users: bool = True  # @user, /u/user -> <user>
    replace_numbers: bool = True  # 1,000 / 3.5 / 42 -> <number>
    expand_contractions: bool = True  # can't -> can not
    squash_elongations: bool = True  # soooo -> soo
    split_hashtags: bool = False  # #SoHappy -> so happy (camel case split before lowercasing)
    hashtag_marker: bool = False  # # -> <hashtag> token before the hashtag's words
    squash_punctuation: bool = False  # !!!! / ?!? / ... -> "! <repeat>" / "? <repeat>" / ...
    char_map: dict[str, str] | None = None  # step 1 table; None = build from `emoji`
    format_version: int = FORMAT_VERSION

    @classmethod
    def tweet(cls, **overrides) -> PreprocessConfig:
        """The tweet preset: hashtags split with a marker, repeated punctuation squashed."""
        preset = {"split_hashtags": True, "hashtag_marker": True, "squash_punctuation": True}
        return cls(**{**preset, **overrides})

    def resolved(self) -> PreprocessConfig:
        """Returns a copy whose char_map is filled in (what gets saved with a run)."""
        if self.char_map is not None:
            return self
        char_map = build_char_map()
        if not self.demojize:
            char_map = {k: v for k, v in char_map.items() if not v.strip()}
        return dataclasses.replace(self, char_map=char_map)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self.resolved())

    @classmethod
    def from_dict(cls, data: dict) -> PreprocessConfig:
        """Rebuilds a saved config; options added since it was saved take their defaults,
        which reproduce the old behaviour."""
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"preprocess config format_version {version!r} is not supported "
                f"(this code reads version {FORMAT_VERSION})"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown preprocess config keys: {unknown}")
        return cls(**data)

    def save(self, path: str | Path, **extra) -> None:
        """Writes the config (plus `extra` keys such as max_len) as JSON."""
        payload = {**self.to_dict(), **extra}
        Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> tuple[PreprocessConfig, dict]:
        """Reads a config written by `save`; returns (config, extra keys).

        Raises:
            ValueError: naming `path`, for invalid JSON or an unknown format_version.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object, got {type(data).__name__}")
            known = {f.name for f in dataclasses.fields(cls)}
            extra = {k: v for k, v in data.items() if k not in known}
            return cls.from_dict({k: v for k, v in data.items() if k in known}), extra
        except ValueError as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ValueError(f"{path}: {err}") from None


class TextNormalizer(tf.Module):
    """Raw strings -> normalised, space-separated token strings, as a TF graph.

    Args:
        config: a `PreprocessConfig`; its char map is built if missing.

    Example:
    >>> TextNormalizer(PreprocessConfig())(tf.constant(["Soooo happy 😂!!"]))
    <tf.Tensor: ... numpy=array([b'soo happy face with tears of joy ! !'], ...)>
    """

    def __init__(self, config: PreprocessConfig, name: str | None = None):
        super().__init__(name=name)
        self.config = config.resolved()
        keys = list(self.config.char_map)
        values = [self.config.char_map[k] for k in keys]
        self.char_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(keys, tf.string), tf.constant(values, tf.string)
            ),
            default_value="\x00",  # sentinel: "keep the character"
        )
        self.rules = self._rules()
        mapped_ascii = sorted(k for k in keys if re.fullmatch(_PLAIN_ASCII, k))
        if mapped_ascii:  # the fast path in __call__ would skip these
            raise ValueError(f"the char map must leave printable ASCII alone: {mapped_ascii}")

    def _rules(self) -> list[tuple[str, str]]:
        c = self.config
        rules = [(_APOSTROPHES, "'")]
        if c.replace_urls:
            rules.append((_URL, " <url> "))
        if c.replace_users:
            rules.append((_USER, r"\1 <user> "))
        if c.expand_contractions:
            rules.extend(_CONTRACTIONS)
        if c.replace_numbers:
            rules.append((_NUMBER, " <number> "))
        if c.squash_elongations:
            rules.extend(_elongation_rules())
        tokens = list(SPECIAL_TOKENS)
        if c.hashtag_marker:
            tokens.append(HASHTAG_TOKEN)
        if c.squash_punctuation:
            rules.append((_REPEATED_PUNCTUATION, f" \\1 {REPEAT_TOKEN} "))
            tokens.append(REPEAT_TOKEN)
        specials = "|".join(t.replace("[", r"\[").replace("]", r"\]") for t in tokens)
        rules.append((f"({specials}|'s\\b|[^\\pL\\pN\\pM_\\s])", r" \1 "))
        rules.append((r"\s+", " "))
        return rules

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts: tf.Tensor) -> tf.Tensor:
        # Step 1 leaves printable ASCII as is (checked in __init__), and most texts are
        # nothing else (85% of GoEmotions dev): only the others go through the char map.
        rows = tf.range(tf.shape(texts)[0])
        plain = tf.strings.regex_full_match(texts, _PLAIN_ASCII)
        keep, other = rows[plain], rows[tf.logical_not(plain)]
        texts = tf.dynamic_stitch(
            [keep, other], [tf.gather(texts, keep), self._map_chars(tf.gather(texts, other))]
        )
        if self.config.split_hashtags or self.config.hashtag_marker:
            texts = self._hashtags(texts)
        if self.config.lowercase:
            texts = tf.strings.lower(texts, encoding="utf-8")
        for pattern, rewrite in self.rules:
            texts = tf.strings.regex_replace(texts, pattern, rewrite)
        return tf.strings.strip(texts)

    def _map_chars(self, texts: tf.Tensor) -> tf.Tensor:
        """Step 1 (module docstring): each character through the char map."""
        chars = tf.strings.unicode_split(texts, "UTF-8", errors="replace")  # (batch, (chars))
        mapped = self.char_table.lookup(chars.flat_values)
        mapped = tf.where(mapped == "\x00", chars.flat_values, mapped)
        return tf.strings.reduce_join(chars.with_flat_values(mapped), axis=-1)  # (batch,)

    def _hashtags(self, texts: tf.Tensor) -> tf.Tensor:
        """Rewrites hashtags (module docstring, tweet options); runs before lowercasing."""
        if self.config.replace_urls:
            # Case-insensitive twin of the later URL rule, which then finds nothing left.
            texts = tf.strings.regex_replace(texts, "(?i)" + _URL, " <url> ")
        # Hashtags become whole whitespace-separated words, so that the case rules can be
        # applied to them alone (RE2 cannot say "only inside a hashtag").
        texts = tf.strings.regex_replace(texts, _HASHTAG, r"\1 #\2 ")
        words = tf.strings.split(texts)  # (batch, (words))
        flat = words.flat_values
        body = tf.strings.substr(flat, 1, -1)  # without the "#"
        if self.config.split_hashtags:
            for pattern, rewrite in _CAMEL_CASE:
                body = tf.strings.regex_replace(body, pattern, rewrite)
            body = tf.strings.regex_replace(body, "_+", " ")
            tag = HASHTAG_TOKEN + " " + body if self.config.hashtag_marker else body
        else:
            tag = HASHTAG_TOKEN + " " + body
        flat = tf.where(tf.strings.regex_full_match(flat, _HASHTAG_WORD), tag, flat)
        return tf.strings.reduce_join(words.with_flat_values(flat), axis=-1, separator=" ")

    def tokens(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Splits normalised text into a ragged (batch, (tokens)) string tensor."""
        return tf.strings.split(self(texts))


def normalize(texts: list[str], config: PreprocessConfig | None = None) -> list[str]:
    """Convenience wrapper: normalises Python strings eagerly (for tests, notebooks)."""
    normalizer = TextNormalizer(config or PreprocessConfig())
    out = normalizer(tf.constant(texts, tf.string)).numpy()
    return [t.decode("utf-8") for t in out]
