"""The tiny profile's tokenizer: a real HF fast tokenizer (WordLevel) built from a fixed vocabulary.

Digits are single tokens (numbers are spelled digit by digit), words and the d1 tags are
whole tokens, spaces are explicit tokens, and the ``Fuse`` decoder makes decode(encode(x)) == x.
Special tokens and the chat template follow LLaDA-8B-Instruct's (Llama-3 style) so prompt
code is the same at both scales.
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

EOS, MASK, UNK = "<|endoftext|>", "<|mdm_mask|>", "<|unk|>"
HEADER_START, HEADER_END, EOT = "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"
SPECIAL = [EOS, MASK, UNK, HEADER_START, HEADER_END, EOT]
TAGS = ["<reasoning>", "</reasoning>", "<answer>", "</answer>"]
WORDS = [
    "system",
    "user",
    "assistant",
    "sudoku",
    "target",
    "numbers",
    "compute",
    "then",
    "so",
    "therefore",
]
CHARS = list("0123456789+-*/=(),.:") + [" ", "\n"]

CHAT_TEMPLATE = (
    "{% for m in messages %}" + HEADER_START + "{{ m['role'] }}" + HEADER_END + "\n\n"
    "{{ m['content'] }}" + EOT + "{% endfor %}"
    "{% if add_generation_prompt %}" + HEADER_START + "assistant" + HEADER_END + "\n\n{% endif %}"
)


def build_tiny_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {tok: i for i, tok in enumerate(SPECIAL + TAGS + WORDS + CHARS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[a-z]+|\d|\s|[^\sa-z\d]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS,
        pad_token=EOS,
        unk_token=UNK,
        mask_token=MASK,
        additional_special_tokens=[HEADER_START, HEADER_END, EOT],
    )
    fast.add_tokens(TAGS)  # not special: they must survive decode(skip_special_tokens=True)
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "left"  # prompts are left-padded so every completion starts at the same column
    return fast
