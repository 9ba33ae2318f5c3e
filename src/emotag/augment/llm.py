"""A small client for OpenAI-compatible chat servers, and the prompts it sends.

Any server that answers `POST <url>/chat/completions` with the OpenAI chat JSON works:
llama.cpp's `llama-server` (url http://127.0.0.1:8080/v1), Ollama
(http://127.0.0.1:11434/v1), vLLM (http://127.0.0.1:8000/v1). Prompts are
`string.Template` files (`$label`, `$examples`, ...) under `emotag/augment/prompts/`, so they can be
edited without touching code; `system.txt` is sent as the system message.
"""

from __future__ import annotations

import logging
import os
import re
import string
import time
from pathlib import Path

import requests

log = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"  # shipped with the package
# Bullets and numbering ("1.", "2)", "(3)", "-", "•"), possibly several, before a line.
_LIST_MARKER = re.compile(r"^\s*(?:(?:[-*\u2022]+|\(?\d+[.):]\)?)\s*)+")
_QUOTES = "\"'\u201c\u201d\u2018\u2019`"


class ChatError(RuntimeError):
    """The server answered with an error or with JSON that is not a chat completion."""


class ChatClient:
    """Sends chat requests to an OpenAI-compatible server.

    Args:
        url: base URL ending in `/v1`, or the full `.../chat/completions` URL.
        model: model name the server expects (llama.cpp ignores it, Ollama needs it).
        temperature: sampling temperature.
        max_tokens: answer length cap.
        timeout: seconds per request.
        retries: further attempts after a connection error, a time-out or a 5xx answer.
        api_key_env: environment variable whose value, if set, is sent as a bearer token.
        seed: sent as the request's `seed` (servers that support it sample reproducibly).

    Example:
    >>> client = ChatClient("http://127.0.0.1:8080/v1", model="qwen2.5-1.5b-instruct")
    >>> client.chat([{"role": "user", "content": "Say hi"}])
    'Hi!'
    """

    def __init__(
        self,
        url: str,
        model: str,
        temperature: float = 0.9,
        max_tokens: int = 512,
        timeout: float = 120.0,
        retries: int = 2,
        api_key_env: str = "OPENAI_API_KEY",
        seed: int | None = None,
    ):
        url = url.rstrip("/")
        self.endpoint = url if url.endswith("/chat/completions") else url + "/chat/completions"
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.retries = retries
        self.api_key_env = api_key_env
        self.seed = seed
        self.session = requests.Session()

    def chat(self, messages: list[dict]) -> str:
        """The assistant's answer text to `messages` ([{"role", "content"}, ...])."""
        payload = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.seed is not None:
            payload["seed"] = self.seed
        headers = {}
        if os.environ.get(self.api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[self.api_key_env]}"
        for attempt in range(self.retries + 1):
            try:
                response = self.session.post(
                    self.endpoint, json=payload, headers=headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as err:
                if attempt == self.retries:
                    raise ChatError(f"cannot reach {self.endpoint}: {err}") from None
            else:
                if response.status_code < 500 or attempt == self.retries:
                    return self._content(response)
            time.sleep(min(2**attempt, 10))
        raise AssertionError("unreachable")

    def _content(self, response: requests.Response) -> str:
        if response.status_code != 200:
            raise ChatError(f"{self.endpoint}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            return response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise ChatError(
                f"{self.endpoint}: not a chat completion: {response.text[:300]}"
            ) from None


class Prompts:
    """The prompt templates of a directory: system.txt, generate.txt, validate.txt."""

    def __init__(self, directory: str | Path = PROMPTS_DIR):
        directory = Path(directory)
        read = lambda name: (directory / name).read_text(encoding="utf-8").strip()  # noqa: E731
        self.system = read("system.txt")
        self.generate = string.Template(read("generate.txt"))
        self.validate = string.Template(read("validate.txt"))

    def generate_messages(self, label: str, n: int, examples: list[str]) -> list[dict]:
        """Messages asking for `n` new texts expressing `label`, shown a few examples."""
        shown = "\n".join(f"- {' '.join(e.split())}" for e in examples) or "- (none)"
        user = self.generate.substitute(label=label, n=n, examples=shown)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    def validate_messages(self, text: str, label_names: list[str]) -> list[dict]:
        """Messages asking which of `label_names` a text expresses."""
        user = self.validate.substitute(text=" ".join(text.split()), labels=", ".join(label_names))
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def parse_lines(answer: str) -> list[str]:
    """One candidate text per answer line: list markers, numbering and quotes removed,
    blank lines and preambles ("Here are five posts:") dropped."""
    texts = []
    for line in answer.splitlines():
        line = _LIST_MARKER.sub("", line.strip()).strip().strip(_QUOTES).strip()
        if line and not line.endswith(":"):
            texts.append(line)
    return texts


def parse_labels(answer: str, label_names: list[str]) -> list[str]:
    """The label names an answer mentions as whole words (case-insensitive), in label order."""
    lowered = answer.lower()
    return [
        name
        for name in label_names
        if re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", lowered)
    ]
