"""Stand-ins for tests, tutorials and benchmarks: tiny random encoders and the tutorial's feature loop.

**Not for real use.** Nothing here is pretrained or fast:

- `make_tiny_bert(dir)` / `make_tiny_wav2vec2(dir)`: tiny BERT / wav2vec2 checkpoints with **random
  weights** built from tiny configs (no download). Their features are fixed random functions of the
  input (they still tell tokens apart) with no pretrained knowledge; they exist so that tests, CI demo
  runs and tutorials can run the pretrained-feature path offline.
- `tutorial_make_data(files)`: the CoAudioText tutorial's per-file librosa loop for mel + RMS features,
  the oracle that `coaudiotext.features.extract("mel_rms", ...)` is tested against and the baseline of
  `python -m coaudiotext.bench features`.

`torch`/`transformers` (the `pretrained` extra) and `librosa` are imported only when a function runs.

Example:

>>> from coaudiotext.testing import make_tiny_bert                        # doctest: +SKIP
>>> path = make_tiny_bert("/tmp/tiny-bert", texts=["hello world"])       # doctest: +SKIP
>>> from coaudiotext.features.pretrained import extract_text_features     # doctest: +SKIP
>>> features, mask = extract_text_features(["hello world"], model=path, max_len=8)  # doctest: +SKIP
>>> features.shape, mask.shape                                            # doctest: +SKIP
((1, 8, 32), (1, 8))
"""

from __future__ import annotations

import pathlib

import numpy as np

__all__ = ["make_tiny_bert", "make_tiny_wav2vec2", "tutorial_make_data"]


_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_tiny_bert(directory, texts=None, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                   intermediate_size=37, max_position_embeddings=512, seed=0):
    """Writes a tiny BERT with **random weights** and a character-level WordPiece vocabulary.

    A stand-in for a real encoder (KorBERT, KLUE-RoBERTa) where none can be downloaded: tests,
    CI demo runs, tutorials. Its features are a fixed random function of the characters and
    their positions: a classifier can still learn which words occur, but nothing pretrained
    (no meaning, no similarity between words) is in them.

    The vocabulary holds the special tokens, ASCII letters, digits and punctuation, and every
    character of `texts`, each also as a `##` continuation piece, so every word splits into
    characters instead of `[UNK]`. (In transformers 5, `BertTokenizer(vocab_file=...)` is
    silently ignored; the vocabulary is passed as `vocab=`.)

    Args:
        directory: str or path. Output folder (created).
        texts: list of str or None. Texts whose characters join the vocabulary.
        hidden_size: int. Defaults to 32.
        num_hidden_layers: int. Defaults to 1.
        num_attention_heads: int. Defaults to 2.
        intermediate_size: int. Defaults to 37.
        max_position_embeddings: int. Defaults to 512 (room for RoBERTa-style max_len 256).
        seed: int. Torch seed of the random weights. Defaults to 0.

    Returns:
        str. The folder, loadable with `AutoModel`/`AutoTokenizer.from_pretrained`.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    characters = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-")
    for text in texts or []:
        characters.extend(ch for ch in str(text) if not ch.isspace())
    characters = list(dict.fromkeys(characters))
    vocab = _SPECIAL_TOKENS + characters + ["##" + ch for ch in characters]
    tokenizer = BertTokenizer(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=False)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
    )
    torch.manual_seed(seed)
    model = BertModel(config)
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    (directory / "README.md").write_text(
        "Random-weight tiny BERT written by coaudiotext.testing.make_tiny_bert.\n"
        "A stand-in for tests and offline demos: its features carry no pretrained knowledge.\n",
        encoding="utf-8",
    )
    return str(directory)


def make_tiny_wav2vec2(directory, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=37, return_attention_mask=True, seed=0):
    """Writes a tiny wav2vec2 with **random weights** (two conv layers, 320x downsampling).

    A stand-in for wav2vec2-large where none can be downloaded: its features are a fixed random
    function of the waveform (nothing pretrained), at wav2vec2's frame rate (one frame per 20 ms
    at 16 kHz).

    Args:
        directory: str or path. Output folder (created).
        hidden_size: int. Defaults to 32.
        num_hidden_layers: int. Defaults to 1.
        num_attention_heads: int. Defaults to 2.
        intermediate_size: int. Defaults to 37.
        return_attention_mask: bool. Written to the feature extractor config (large "lv60"
            models: True; base models: False). Defaults to True.
        seed: int. Torch seed of the random weights. Defaults to 0.

    Returns:
        str. The folder, loadable with `AutoModel`/`AutoFeatureExtractor.from_pretrained`.
    """
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    config = Wav2Vec2Config(
        vocab_size=8,
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        conv_dim=(16, 16),
        conv_stride=(80, 4),
        conv_kernel=(80, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer" if return_attention_mask else "group",
        do_stable_layer_norm=bool(return_attention_mask),
    )
    torch.manual_seed(seed)
    model = Wav2Vec2Model(config)
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(directory))
    Wav2Vec2FeatureExtractor(
        sampling_rate=16000, do_normalize=True, return_attention_mask=bool(return_attention_mask)
    ).save_pretrained(str(directory))
    (directory / "README.md").write_text(
        "Random-weight tiny wav2vec2 written by coaudiotext.testing.make_tiny_wav2vec2.\n"
        "A stand-in for tests and offline demos: its features carry no pretrained knowledge.\n",
        encoding="utf-8",
    )
    return str(directory)


def tutorial_make_data(files, max_frames=200):
    """The CoAudioText tutorial's `make_data` loop (librosa >= 0.7 names), one file at a time.

    The oracle of the `mel_rms` features (`coaudiotext.features.extract("mel_rms", ...)` must give
    these arrays) and the slow side of `python -m coaudiotext.bench features`. Kept as the tutorial
    wrote it: the reference, not a way to compute features.

    Args:
        files: list of str. Audio files (decoded by librosa at 22,050 Hz).
        max_frames: int. Frames kept (the last ones; shorter clips are zero-padded in front).
            Defaults to 200.

    Returns:
        float64 array `(len(files), max_frames, 129)`: max-normalised RMS, then 128 mel bands.
    """
    import librosa

    data = np.zeros((len(files), max_frames, 129))
    for i, filename in enumerate(files):
        y, sr = librosa.load(filename)
        D = np.abs(librosa.stft(y)) ** 2
        ss, phase = librosa.magphase(librosa.stft(y))
        rmse = librosa.feature.rms(S=ss)
        rmse = rmse / np.max(rmse)
        rmse = np.transpose(rmse)
        S = librosa.feature.melspectrogram(S=D)
        S = np.transpose(S)
        if len(S) >= max_frames:
            data[i][:, 0] = rmse[-max_frames:, 0]
            data[i][:, 1:] = S[-max_frames:, :]
        else:
            data[i][-len(S) :, 0] = np.transpose(rmse)
            data[i][-len(S) :, 1:] = S
    return data
