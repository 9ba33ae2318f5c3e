import pytest
import tensorflow as tf

from emotag.preprocessing import PreprocessConfig, TextNormalizer, build_char_map, normalize


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
