"""Synthetic data with exactly known entropy: Markov sources, tokenizers, datasets.

numpy/scipy only (BPE optionally uses Hugging Face ``tokenizers``).  All entropies and
losses are in nats.  See docs/synthetic.md.
"""
from .entropy import (
    binary_entropy,
    block_distribution,
    block_entropies,
    conditional_entropies,
    shannon_entropy,
    entropy_rate,
    stationary_distribution,
    symbol_marginal,
    unigram_entropy,
)
from .datasets import IGNORE_INDEX, SyntheticDataset, train_tokenizer
from .runs import simulate_runs
from .sources import MarkovSource, MixtureSource, SwitchingSource, parse_source
from .tokenizers import (
    BPETokenizer,
    LZWTokenizer,
    Tokenizer,
    TokenizerSpec,
    chars_per_token,
    loss_per_char,
    parse_tokenizer,
    reference_curve,
    unigram_token_loss_per_char,
    unigram_token_model,
)

__all__ = [
    "MarkovSource", "SwitchingSource", "MixtureSource", "parse_source",
    "shannon_entropy", "binary_entropy", "stationary_distribution", "symbol_marginal", "entropy_rate",
    "unigram_entropy", "block_distribution", "block_entropies", "conditional_entropies",
    "Tokenizer", "LZWTokenizer", "BPETokenizer", "TokenizerSpec", "parse_tokenizer",
    "chars_per_token", "loss_per_char", "unigram_token_model", "unigram_token_loss_per_char",
    "reference_curve", "SyntheticDataset", "IGNORE_INDEX", "train_tokenizer", "simulate_runs",
]
