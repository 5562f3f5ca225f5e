"""Decoder-only models in named sizes, always built from scratch (never from a hub).

Llama-style (RoPE, RMSNorm, SwiGLU) through ``transformers.LlamaForCausalLM`` with SDPA
attention: RoPE needs no learned position table, and SDPA uses flash kernels on a GPU.
Input and output embeddings are tied, which keeps the word-level Metamath vocabulary
(tens of thousands of labels) affordable in the small sizes.

Parameter counts (with an 8k vocabulary): tiny 1.5M, small 24.6M, base 105M; the
word-level Metamath vocabulary adds ``vocab * hidden`` on top.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ModelSize:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    context: int  # maximum sequence length (prompt + answer)


SIZES: dict[str, ModelSize] = {
    # tiny: a few minutes on 2 CPU cores, for the demo and CI.
    "tiny": ModelSize(hidden=128, layers=2, heads=4, intermediate=384, context=256),
    "small": ModelSize(hidden=512, layers=6, heads=8, intermediate=1536, context=512),
    "base": ModelSize(hidden=768, layers=12, heads=12, intermediate=2560, context=1024),
}


def get_size(name: str) -> ModelSize:
    try:
        return SIZES[name]
    except KeyError:
        raise ValueError(f"unknown model size {name!r}; choose one of {', '.join(SIZES)}") from None


def build_model(size: str | ModelSize, vocab_size: int, pad_id: int, eos_id: int):
    """A freshly initialised ``LlamaForCausalLM`` of the given size."""
    from transformers import LlamaConfig, LlamaForCausalLM

    spec = get_size(size) if isinstance(size, str) else size
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=spec.hidden,
        intermediate_size=spec.intermediate,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.heads,
        max_position_embeddings=spec.context,
        tie_word_embeddings=True,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        bos_token_id=None,
        attention_dropout=0.0,
        attn_implementation="sdpa",
    )
    return LlamaForCausalLM(config)


def count_parameters(model) -> int:
    """Distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def flops_per_token(model, context: int) -> float:
    """Training FLOPs per token, 6N plus attention (PaLM's estimate), for MFU figures.

    N counts the tied embedding once: its lookup is free but the output projection is a
    real matrix product.
    """
    config = model.config
    attention = 12 * config.num_hidden_layers * config.hidden_size * context
    return 6.0 * count_parameters(model) + attention


def size_dict(name: str) -> dict[str, int]:
    return asdict(get_size(name))
