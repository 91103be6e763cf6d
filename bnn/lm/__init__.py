"""Word-level LSTM language models: float baseline, binarized and soft-binarized LMs (Liu, Cao &
Yu, NAACL 2018; Ma, Liu & Yu, ASRU 2019), bit-packed export, perplexity and n-best rescoring.
See docs/lm.md."""
