"""Registry keys and their one-line descriptions, importable without Keras.

The command lines read this for `--help` and argument checks, so they answer before TensorFlow loads.
`tests/test_cli.py` checks it equals `coaudiotext.models.MODELS` (keys, order, descriptions)."""

__all__ = ["CATALOG"]

CATALOG = {
    'bilstm': 'Speech-only BiLSTM over mel+RMS frames (Audio-BRE)',
    'bilstm_att': 'Self-attentive speech BiLSTM with the zero-source attention (Audio-BRE-Att)',
    'para': 'Parallel self-attentive BiLSTMs over speech and text, concatenated (Para-BRE-Att)',
    'text_bilstm_att': "Text-only self-attentive BiLSTM: Para-BRE-Att's text branch and head",
    'mha_a': 'Multi-hop attention, one hop: speech state queries the text (MHA-A)',
    'mha_a_t': 'Multi-hop attention, two hops: speech -> text -> speech (MHA-AT)',
    'ca': 'Cross-attention exchange between speech and text (CA)',
    'audio_transformer': 'Audio-only Transformer over MFCC frames (seed 001, d = 40)',
    'crossmodal_transformer': 'Cross-modal Transformer over MFCC and frozen BERT token features (seed 001, MulT-style)',
    'text_bert': 'Text-only classifier: BERT pooler + linear over frozen [CLS] features (seed 001)',
    'early_fusion': 'RSA-CFN early fusion: concat -> LayerNorm -> Linear',
    'late_fusion': 'RSA-CFN late fusion: per-modality Linear, LayerNorm-ed logits averaged',
    'stack': 'RSA-CFN stack: early fusion with 5-sample dropout',
    'residual': 'RSA-CFN residual MLP on LayerNorm(concat)',
    'rsa': 'RSA: residual MLP over a feature self-attention (attention map)',
    'rsa_cfn': 'RSA-CFN: self-attention + 129x129 outer-product fusion (328M params)',
    'hybrid_fusion': 'RSA-CFN hybrid: vote of early, late, residual, rsa_cfn (333M params)',
    'mlp_mixer': 'MLP-Mixer over wav2vec2 frames + RoBERTa tokens (HumanUnderstandingOpen)',
    'wav2vec2_cls': 'wav2vec2-only head: dropout, Linear+tanh, dropout, Linear',
    'roberta_cls': 'RoBERTa-only head: LayerNorm -> Linear',
    'tva_self': 'Tri-modal self-attention: BiGRU + MHA per modality, [std, mean] pooling (seed 003, IEMOCAP)',
    'tva_cross': 'Tri-modal cross-attention: six ordered MHAs, [std, mean] pooling (seed 003, IEMOCAP)',
    'tva_self_at': 'Self-attention (seed 003) over speech and text: BiGRU + MHA per modality, [std, mean] pooling',
    'tva_cross_at': 'Cross-attention (seed 003) between speech and text: text<-audio and audio<-text MHAs',
    'ser_mmoe': 'SER-MMoE: phone/MFCC/wav2vec conv-BiLSTM-attention experts gated by GE2E, per-language tower (seed 004)',
    'ser_mmoe_ge2e': "SER-MMoE's GE2E expert alone: per-language gate and BatchNorm tower on 256-d GE2E embeddings",
    'ser_phone': 'SER-MMoE single-branch baseline: phone conv-BiLSTM-attention + BatchNorm tower (seed 004)',
    'ser_mfcc': 'SER-MMoE single-branch baseline: mfcc conv-BiLSTM-attention + BatchNorm tower (seed 004)',
    'ser_wav2vec': 'SER-MMoE single-branch baseline: wav2vec conv-BiLSTM-attention + BatchNorm tower (seed 004)',
}
"""key -> description, in registry order."""
