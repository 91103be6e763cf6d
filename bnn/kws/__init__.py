"""Binary keyword spotting: BiFSMNv2 (Qin et al., TNNLS 2023) and its baselines.

Modules: :mod:`manifests` (lhotse cuts for Speech Commands and FSDD), :mod:`features` (the
authors' 32 x 32 log-mel and Kaldi fbank), :mod:`augment` (on-the-fly gain, speed, shift, noise),
:mod:`binarize` (sign/STE, learnable-slope binarizer, dual-scale activation, binary layers),
:mod:`model` (D-FSMN teacher and thinnable binary student), :mod:`distill` (frequency-independent
distillation), :mod:`train`, :mod:`evaluate`, :mod:`packed` (XOR-popcount inference and
streaming), :mod:`results` (RESULTS.md).  See ``docs/kws.md``.
"""
