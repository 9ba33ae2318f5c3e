"""Augmentation: filters, prompt parsing, neighbour substitution, and the HTTP client
against a local OpenAI-style server that generates with a tiny real KerasHub GPT-2."""

from __future__ import annotations

import csv
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from emotag.augment.filters import CandidateFilter, TextChecks, text_key
from emotag.augment.llm import ChatClient, ChatError, Prompts, parse_labels, parse_lines
from emotag.augment.offline import NeighbourSubstitution, cue_words
from emotag.data.splits import EXTRA_COLUMNS

# ---------------------------------------------------------------- filters and parsing


def test_text_key_ignores_case_punctuation_and_spacing():
    assert text_key("  So HAPPY!!  today 😂") == text_key("so happy today") == "so happy today"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("so happy", "too_short"),
        ("good good good so good", "repetitive"),
        ("word " * 61, "too_long"),
        ("это было так весело сегодня", "not_ascii"),
        ("great wonderful amazing fantastic superb", "few_stopwords"),
        ("c'était une journée vraiment géniale", "few_stopwords"),
        ("I am so happy for you", None),
        ("Best day ever!!", None),  # under four words: ASCII share alone
        ("I can't believe it's over", None),
    ],
)
def test_length_and_language_checks(text, problem):
    assert TextChecks().problem(text) == problem


def test_candidate_filter_rejects_dataset_texts_and_repeats():
    keep = CandidateFilter(["I am so happy today"])
    results = [keep(t) for t in ["i am so HAPPY today!", "what a day it is", "What a day, it is",
                                 "lol", "it is what it is"]]  # fmt: skip
    assert results == [False, True, False, False, True]
    assert keep.accepted == 2
    assert dict(keep.rejected) == {"duplicate_of_dataset": 1, "duplicate": 1, "too_short": 1}


def test_parse_lines_strips_numbering_bullets_quotes_and_preambles():
    answer = 'Here are 3 posts:\n1. "I miss her so much"\n- ugh, why me\n\n3) • it is over\n'
    assert parse_lines(answer) == ["I miss her so much", "ugh, why me", "it is over"]


def test_parse_labels_whole_words_only():
    names = ["joy", "anger", "love", "optimism"]
    assert parse_labels("Joy, love (maybe optimism-ish); not joyful", names) == ["joy", "love"]
    assert parse_labels("none", names) == []


def test_prompts_fill_templates(tmp_path):
    prompts = Prompts()  # the repository's prompts/
    messages = prompts.generate_messages("grief", 4, ["She is gone.\nForever", "RIP"])
    assert [m["role"] for m in messages] == ["system", "user"]
    assert '"grief"' in messages[1]["content"] and "- She is gone. Forever\n- RIP" in \
        messages[1]["content"]  # fmt: skip
    user = prompts.validate_messages("ok\tthen", ["joy", "fear"])[1]["content"]
    assert "joy, fear" in user and "ok then" in user


# ---------------------------------------------------------------- offline substitution


def test_cue_words_by_hand():
    texts = ["thanks a lot", "thanks so much", "thanks again", "why is it", "so why", "why not"]
    labels = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1]], np.float32)
    cues = cue_words(texts, labels, ["gratitude", "curiosity"], per_class=1, min_count=2)
    assert cues == {"gratitude": ["thanks"], "curiosity": ["why"]}


def test_neighbour_substitution_keeps_protected_words_and_case():
    words = ["movie", "film", "great", "awful", "today", "tonight", "cat"]
    vectors = np.array([[1, 0, 0], [0.95, 0.1, 0], [0, 1, 0], [0, 0.98, 0.1],
                        [0, 0, 1], [0.1, 0, 0.95], [0.6, 0.6, 0.5]], np.float32)  # fmt: skip
    sub = NeighbourSubstitution(words, vectors, protected={"great"}, k=1, min_similarity=0.8)
    rng = np.random.default_rng(0)
    # "great" is protected, "awful" is close to it but may not stand in for anything
    # either, "the" is a stopword, "Movie" keeps its capital.
    assert sub.augment("The Movie was great today", p=1.0, rng=rng) == "The Film was great tonight"
    assert sub.augment("MOVIE", p=1.0, rng=rng) == "FILM"
    assert sub.augment("The Movie was great today", p=0.0, rng=rng) == "The Movie was great today"
    assert sub.neighbours("cat") == [] and sub.neighbours("great") == []
    kept = "[MOVIE] @movie #movie /u/movie http://movie.com <movie>"
    assert sub.augment(kept + " movie", p=1.0, rng=rng) == kept + " film"


def write_tiny_csv(directory, n=60):
    """Train/test CSVs: class `rare` is rare, texts are English-looking."""
    rows = {"train": [], "test": []}
    topics = ["movie", "film", "show", "game", "song", "book"]
    times = ["today", "tonight", "yesterday", "now"]
    for split, size in (("train", n), ("test", 12)):
        for i in range(size):
            rare = int(i % 10 == 0)
            word = "grieving" if rare else "happy"
            text = f"I am {word} about the {topics[i % 6]} {times[i % 4]} number {i} {split}"
            rows[split].append([f"{split}-{i}", text, rare, 1 - rare])
        with open(directory / f"{split}.csv", "w", newline="") as f:
            csv.writer(f).writerows([["id", "text", "rare", "common"], *rows[split]])


def write_vectors(path):
    """GloVe-format vectors in which topics and times are near each other."""
    rng = np.random.default_rng(0)
    groups = [["movie", "film", "show"], ["game", "song", "book"],
              ["today", "tonight", "yesterday", "now"]]  # fmt: skip
    lines = []
    for g, group in enumerate(groups):
        centre = np.eye(8)[g] * 5
        for word in group:
            lines.append(word + " " + " ".join(f"{x:.4f}" for x in centre + rng.normal(0, 0.3, 8)))
    for j, word in enumerate(["number", "about", "grieving", "happy", "train", "test"]):
        lines.append(word + " " + " ".join(f"{x:.4f}" for x in np.eye(8)[3 + j % 5] * 5))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.slow
def test_offline_generation_writes_training_rows(tmp_path):
    from emotag.augment.generate import main
    from emotag.data.datasets import DatasetSpec, load_dataset

    write_tiny_csv(tmp_path)
    out = tmp_path / "aug.tsv"
    argv = ["--dataset", "csv", "--data-dir", str(tmp_path), "--rare-below", "10",
            "--per-class", "4", "--embeddings", write_vectors(tmp_path / "v.txt"),
            "--p", "1.0", "--min-similarity", "0.8", "--cue-words", "1",
            "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert tuple(rows[0]) == EXTRA_COLUMNS and len(rows) == 4
    spec = DatasetSpec(dataset="csv", data_dir=str(tmp_path))
    base = load_dataset(spec)
    for row in rows:
        assert row["labels"] == "rare" and row["source"].startswith("offline:train-")
        assert "grieving" in row["text"]  # the class's cue word stays
        assert text_key(row["text"]) not in {text_key(t) for t in base.train.texts}
    report = json.loads((tmp_path / "aug.tsv.json").read_text())
    assert report["classes"]["rare"]["kept"] == 4 and "common" not in report["classes"]
    data = load_dataset(DatasetSpec(dataset="csv", data_dir=str(tmp_path), extra_train=str(out)))
    assert len(data.train.texts) == len(base.train.texts) + 4
    assert data.dev.ids == base.dev.ids and data.test.ids == base.test.ids


# ---------------------------------------------------------------- the HTTP client

WORDS = ("i am so happy sad the today feel day very it is and a not good love this was "
         "miss her gone rare common").split()  # fmt: skip


def tiny_gpt2(seed: int = 0):
    """A 1-layer GPT-2 with random weights and a hand-made word-level BPE vocabulary.

    Embedding rows of partial-word tokens are zeroed and whole words scaled up, so that
    random weights still emit words and line breaks rather than letter soup.
    """
    import keras
    import keras_hub

    vocab = {"<|endoftext|>": 0}
    for token in [*"abcdefghijklmnopqrstuvwxyz", "Ġ", "Ċ"]:
        vocab[token] = len(vocab)
    merges = []
    for word in WORDS:
        token = "Ġ"
        for char in word:
            merges.append(f"{token} {char}")
            token += char
            vocab.setdefault(token, len(vocab))
    tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary=vocab, merges=list(dict.fromkeys(merges)))
    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=len(vocab), num_layers=1, num_heads=2, hidden_dim=16,
        intermediate_dim=32, max_sequence_length=64,
    )  # fmt: skip
    words = np.zeros(len(vocab), bool)
    words[[vocab["Ġ" + w] for w in WORDS] + [vocab["Ċ"]]] = True
    table = backbone.token_embedding.embeddings
    table.assign(np.where(words[:, None], table.numpy() * 20, 0.0))
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(tokenizer, sequence_length=48)
    model = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=preprocessor)
    model.compile(sampler=keras_hub.samplers.TopKSampler(k=4, seed=seed))
    return model


class ChatHandler(BaseHTTPRequestHandler):
    """POST /v1/chat/completions -> the OpenAI chat JSON, text from `server.generate`."""

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, **request})
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        text = self.server.generate(request["messages"])
        body = json.dumps({
            "id": "chatcmpl-test", "object": "chat.completion", "model": request["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
        }).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(generate):
    """A chat server on 127.0.0.1 (random port) in a thread; returns (server, base url)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
    server.generate, server.requests = generate, []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


@pytest.fixture(scope="module")
def gpt2_server():
    model = tiny_gpt2()
    lock = threading.Lock()

    def generate(messages):
        # The tiny vocabulary knows a few words: the prompt is cut to the last of those.
        words = [w for w in messages[-1]["content"].lower().split() if w in WORDS][-12:]
        prompt = " " + " ".join(words or ["the"])
        with lock:
            out = model.generate(prompt, max_length=48, stop_token_ids=None)
        return out[len(prompt) :]

    server, url = serve(generate)
    yield server, url
    server.shutdown()
    server.server_close()


def test_client_raises_chat_error_with_the_server_message():
    server, url = serve(lambda messages: "unused")
    try:
        with pytest.raises(ChatError, match="HTTP 404"):
            ChatClient(url + "/nope", "m", retries=0).chat([{"role": "user", "content": "x"}])
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ChatError, match="cannot reach"):
        ChatClient(url, "m", retries=0, timeout=5).chat([{"role": "user", "content": "x"}])


@pytest.mark.slow
def test_llm_generation_and_validation_through_http(tmp_path, gpt2_server):
    from emotag.augment.generate import main
    from emotag.data.datasets import DatasetSpec, load_dataset

    server, url = gpt2_server
    write_tiny_csv(tmp_path)
    out = tmp_path / "llm.tsv"
    common = ["--dataset", "csv", "--data-dir", str(tmp_path), "--url", url, "--llm-model", "tiny",
              "--rare-below", "10", "--per-class", "6", "--batch", "3", "--shots", "2",
              "--min-stopwords", "0.1", "--tries", "2"]  # fmt: skip
    assert main([*common, "--backend", "llm", "--output", str(out)]) == 0

    first = server.requests[0]
    assert first["path"] == "/v1/chat/completions" and first["model"] == "tiny"
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert '"rare"' in first["messages"][1]["content"]  # the class, from prompts/generate.txt
    assert "grieving" in first["messages"][1]["content"]  # a training example of it
    report = json.loads((tmp_path / "llm.tsv.json").read_text())
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert tuple(rows[0] if rows else EXTRA_COLUMNS) == EXTRA_COLUMNS
    assert report["rows"] == len(rows) == report["classes"]["rare"]["kept"] <= 6
    assert report["candidates"] == len(rows) + sum(report["rejected"].values()) > 0
    assert len(server.requests) <= 4  # ceil(6 / 3) requests x 2 tries at most
    base = load_dataset(DatasetSpec(dataset="csv", data_dir=str(tmp_path)))
    keys = [text_key(r["text"]) for r in rows]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & {text_key(t) for t in base.train.texts + base.test.texts}
    checks = TextChecks(min_stopwords=0.1)  # as passed above
    for row in rows:
        assert row["labels"] == "rare" and row["source"] == "llm:tiny"
        assert checks.problem(row["text"]) is None and "\t" not in row["text"]
    if rows:
        data = load_dataset(DatasetSpec(dataset="csv", data_dir=str(tmp_path),
                                        extra_train=str(out)))  # fmt: skip
        assert len(data.train.texts) == len(base.train.texts) + len(rows)

    checked = tmp_path / "validation.tsv"
    assert main([*common, "--mode", "validate", "--output", str(checked)]) == 0
    with open(checked, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert list(rows[0]) == ["id", "text", "given", "llm", "missing", "extra"]
    assert len(rows) == int(base.train.labels[:, 0].sum())  # every rare-class text
    assert all(r["given"] == "rare" for r in rows)
    assert all(set(filter(None, r["llm"].split(","))) <= {"rare", "common"} for r in rows)
