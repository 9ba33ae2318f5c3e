import pytest
import tensorflow as tf

from emotag.text.preprocessing import PreprocessConfig, TextNormalizer, build_char_map, normalize


@pytest.fixture(scope="module")
def normalizer():
    return TextNormalizer(PreprocessConfig())


def run(normalizer, *texts):
    return [t.decode("utf-8") for t in normalizer(tf.constant(list(texts))).numpy()]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("😂", "face with tears of joy"),
        ("love it😍!", "love it smiling face with heart - eyes !"),
        ("👍🏽 vs 👍", "thumbs up vs thumbs up"),  # skin tone dropped
        ("❤️", "red heart"),  # variation selector dropped
        ("see https://example.com/a?b=1 and www.x.org", "see <url> and <url>"),
        ("thanks @bob and /u/spez", "thanks <user> and <user>"),
        ("I can't, won't, don't", "i can not , will not , do not"),
        ("Im sure youre right, dont worry", "i am sure you are right , do not worry"),
        ("it's John's", "it is john 's"),
        ("I’m here", "i am here"),  # curly apostrophe
        ("1,000 people and 3.5 dogs in 2019", "<number> people and <number> dogs in <number>"),
        ("Soooo happppy!!!", "soo happy ! ! !"),
        ("[NAME] and [RELIGION] said", "[name] and [religion] said"),
        ("  lots \t of\n space\u00a0here  ", "lots of space here"),
        ("zero\u200bwidth", "zerowidth"),
        ("Ça va, ÉCOLE", "ça va , école"),
        ("", ""),
    ],
)
def test_normalization_cases(normalizer, text, expected):
    assert run(normalizer, text) == [expected]


def test_invalid_utf8_becomes_replacement_char(normalizer):
    out = normalizer(tf.constant([b"ok \xff\xfe"])).numpy()[0].decode("utf-8")
    assert out == "ok \ufffd \ufffd"


def test_options_can_be_switched_off():
    config = PreprocessConfig(replace_numbers=False, squash_elongations=False, lowercase=False)
    assert normalize(["Sooo 42"], config) == ["Sooo 42"]


def test_demojize_off_keeps_emoji():
    assert normalize(["ok 😂"], PreprocessConfig(demojize=False)) == ["ok 😂"]


def test_char_map_covers_emoji_and_controls():
    table = build_char_map()
    assert table["😂"] == " face with tears of joy "
    assert table["\x07"] == " " and table["\u200d"] == ""
    assert "a" not in table and " " not in table


def test_config_json_round_trip(tmp_path):
    config = PreprocessConfig(replace_urls=False).resolved()
    config.save(tmp_path / "p.json", max_len=12)
    loaded, extra = PreprocessConfig.load(tmp_path / "p.json")
    assert loaded == config and extra == {"max_len": 12}


def test_config_rejects_other_format_version(tmp_path):
    with pytest.raises(ValueError, match="format_version"):
        PreprocessConfig.from_dict({"format_version": 99})


def test_saved_char_map_is_used_not_the_installed_emoji_package():
    config = PreprocessConfig(char_map={"😂": " lol "})
    assert normalize(["a😂b"], config) == ["a lol b"]


# Tweet options: hand-written expectations for every switch.
TWEET_CASES = [
    ("#SoHappy today!!!!", "<hashtag> so happy today ! <repeat>"),
    ("#ILoveNY and #HTMLParser", "<hashtag> i love ny and <hashtag> html parser"),
    ("#so_happy #sohappy", "<hashtag> so happy <hashtag> sohappy"),  # no dictionary
    ("(#BestDayEver)", "( <hashtag> best day ever )"),
    ("@Bob #ImHappy", "<user> <hashtag> i am happy"),  # contractions apply after splitting
    ("#ÉcoleFermée", "<hashtag> école fermée"),
    ("#Top10Songs", "<hashtag> top <number> songs"),
    ("We're #1?!?!", "we are # <number> ! <repeat>"),  # "#1" is no hashtag; last of the run
    ("C# and &#39; x#y", "c # and & # <number> ; x # y"),  # not hashtags either
    ("see http://x.com/#Anchor OK", "see <url> ok"),  # a URL keeps its fragment
    ("HTTP://X.COM/#Frag", "<url>"),
    ("Wait... what?", "wait . <repeat> what ?"),
    ("no <repeat> here", "no <repeat> here"),
    ("", ""),
]


# A small char map: building the full one (every unicode character) for each case is slow.
SMALL_MAP = {"😂": " lol "}


@pytest.fixture(scope="module")
def tweet_normalizer():
    return TextNormalizer(PreprocessConfig.tweet())


@pytest.mark.parametrize("text, expected", TWEET_CASES)
def test_tweet_preset(tweet_normalizer, text, expected):
    assert run(tweet_normalizer, text) == [expected]


@pytest.mark.parametrize(
    "options, expected",
    [
        ({}, "# sohappy wow ! ! ! ! < repeat >"),  # the defaults: behaviour as before
        ({"split_hashtags": True}, "so happy wow ! ! ! ! < repeat >"),
        ({"hashtag_marker": True}, "<hashtag> sohappy wow ! ! ! ! < repeat >"),
        ({"squash_punctuation": True}, "# sohappy wow ! <repeat> <repeat>"),
    ],
)
def test_tweet_options_one_at_a_time(options, expected):
    config = PreprocessConfig(**options, char_map=SMALL_MAP)
    assert normalize(["#SoHappy wow!!!! <repeat>"], config) == [expected]


def test_config_saved_before_tweet_options_loads_with_old_behaviour(tmp_path):
    import json

    config = PreprocessConfig(char_map=SMALL_MAP)
    saved = {k: v for k, v in config.to_dict().items()
             if k not in ("split_hashtags", "hashtag_marker", "squash_punctuation")}  # fmt: skip
    (tmp_path / "old.json").write_text(json.dumps({**saved, "max_len": 30}))
    loaded, extra = PreprocessConfig.load(tmp_path / "old.json")
    assert loaded == config and extra == {"max_len": 30}
    assert not (loaded.split_hashtags or loaded.hashtag_marker or loaded.squash_punctuation)


def test_tweet_config_json_round_trip(tmp_path):
    config = PreprocessConfig.tweet(char_map=SMALL_MAP).resolved()
    config.save(tmp_path / "p.json")
    assert PreprocessConfig.load(tmp_path / "p.json")[0] == config


def test_tweet_normalizer_runs_the_same_inside_a_saved_model(tmp_path):
    normalizer = TextNormalizer(PreprocessConfig.tweet(char_map=SMALL_MAP))
    tf.saved_model.save(normalizer, str(tmp_path / "normalizer"))
    loaded = tf.saved_model.load(str(tmp_path / "normalizer"))
    texts = tf.constant([text for text, _ in TWEET_CASES] + ["a😂b"])
    assert loaded(texts).numpy().tolist() == normalizer(texts).numpy().tolist()


def test_plain_ascii_rows_skip_the_char_map_without_changing_anything(normalizer):
    """Rows of printable ASCII bypass step 1; mixed batches keep their row order."""
    printable = "".join(chr(c) for c in range(0x20, 0x7F)) + "\t\n\r"
    assert normalizer._map_chars(tf.constant([printable])).numpy()[0].decode() == printable
    batch = ["Thank you!", "bad\x01byte", "so funny 😂", "", "plain again"]
    out = [t.decode() for t in normalizer(tf.constant(batch)).numpy()]
    assert out == ["thank you !", "bad byte", "so funny face with tears of joy", "", "plain again"]


def test_char_map_that_touches_printable_ascii_is_refused():
    config = PreprocessConfig(char_map={"a": "b", "😂": " joy "})
    with pytest.raises(ValueError, match="printable ASCII"):
        TextNormalizer(config)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"lowercase": true}', "format_version None is not supported"),  # missing
        ('{"format_version": 2}', "format_version 2 is not supported"),
        ('{"format_version": 1,', "Expecting"),  # truncated JSON
        ("[1]", "expected a JSON object"),
    ],
)
def test_load_names_the_file_of_a_bad_config(tmp_path, content, message):
    path = tmp_path / "preprocess_config.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as err:
        PreprocessConfig.load(path)
    assert str(err.value).startswith(f"{path}: ")
