"""Family ``gguf``: GGUF language models, served by the upstream ``llama-server``
(``python -m ai.llm``), not by this runtime.

The family is what the model store and the demo factory need: where the weights sit
(one ``.gguf`` file), tiny random demo weights in the real format (a llama model with an
SPM vocabulary, the 256 byte tokens and a ChatML chat template), and a check that a file
is GGUF. It declares no task, so no runtime endpoint can ask it for an inference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ai.runtime.catalog import CatalogEntry
from ai.runtime.device import DeviceInfo
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.families import ModelAdapter, first_match, register_family

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# SPM token types (llama.cpp's llama_token_type).
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6
# Pieces besides the bytes: enough for English words and JSON to tokenise compactly.
PIECES = [
    *"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    *'{}[]":,.-_ \n',
    "▁",
    *[
        f"▁{word}"
        for word in [
            "the",
            "a",
            "person",
            "car",
            "at",
            "night",
            "risk",
            "score",
            "level",
            "low",
            "medium",
            "high",
            "critical",
            "reasoning",
            "factors",
            "true",
            "false",
            "null",
            "detected",
            "door",
            "yard",
        ]
    ],
    '"risk_score"',
    '"risk_level"',
    '"reasoning"',
    '"factors"',
]


def demo_vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens (each string unique: llama.cpp aborts on a duplicate), scores and types."""
    tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types = [UNKNOWN, CONTROL, CONTROL, CONTROL, CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [BYTE] * 256
    pieces = list(dict.fromkeys(p for p in PIECES if p not in tokens))
    tokens += pieces
    types += [NORMAL] * len(pieces)
    scores = [0.0] * (len(tokens) - len(pieces)) + [-float(len(p) < 2) - i * 1e-3 for i, p in enumerate(pieces)]
    return tokens, scores, types


def write_demo_gguf(path: Path, n_embd: int = 32, n_layer: int = 2, n_head: int = 2, n_ff: int = 64) -> None:
    """A tiny random llama model in GGUF (f32), loadable by llama.cpp."""
    import gguf

    tokens, scores, types = demo_vocabulary()
    rng = np.random.default_rng(0)

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    # Random weights would pick the bytes 0x80-0xFF as often as letters and write invalid
    # UTF-8, which llama-server cannot parse back into a chat message (a 500). Dimension 0
    # of every embedding is a constant the tiny layers barely move, and the output rows of
    # those bytes read it negatively: the demo model writes ASCII, still at random.
    vocab = len(tokens)
    embedding = weight(vocab, n_embd)
    embedding[:, 0] = 1.0
    output = weight(vocab, n_embd)
    output[[tokens.index(f"<0x{b:02X}>") for b in range(0x80, 0x100)], 0] = -3.0

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("demo-llama")
    writer.add_context_length(32768)  # room for prompts in its mostly one-character tokens
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_rope_dimension_count(n_embd // n_head)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_eot_token_id(tokens.index("<|im_end|>"))
    writer.add_add_bos_token(True)
    # No "▁" before the first word: with it, the text after a special token tokenises with
    # a leading space, and llama-server's output grammar (which starts with the chat
    # template's "<|im_start|>assistant\n") refuses the prefill: "Failed to initialize
    # samplers" on every response_format request. Real BPE vocabularies add no prefix.
    writer.add_add_space_prefix(False)
    writer.add_chat_template(CHATML)
    writer.add_tensor("token_embd.weight", embedding)
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("output.weight", output)
    for i in range(n_layer):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{i}.{name}.weight", weight(n_embd, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(n_embd, n_ff))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@register_family
class GgufModel(ModelAdapter):
    family = "gguf"
    tasks = frozenset()  # served by llama-server; no runtime endpoint runs it

    @classmethod
    def find_weights(cls, folder: Path) -> Path | None:
        return first_match(folder, ("*.gguf",))

    @classmethod
    def write_demo(cls, folder: Path, entry: CatalogEntry) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_demo_gguf(folder / f"{entry.name}-demo.gguf")

    @classmethod
    def prepare(cls, device: DeviceInfo) -> None:
        import gguf  # noqa: F401

    def load(self) -> None:
        """Read the header only: the architecture and context length the file declares."""
        import gguf

        reader = gguf.GGUFReader(str(self.weights))
        field = reader.get_field("general.architecture")
        self.architecture = field.contents() if field is not None else "unknown"

    def run_batch(self, inputs: list[Any]) -> list[Any]:
        raise ServiceError(
            ErrorCode.MODEL_DISABLED,
            f"{self.entry.name} is served by llama-server (python -m ai.llm), not by this runtime",
        )
