"""bnn: binary neural-network acoustic models in a Kaldi-style recipe toolkit."""

__version__ = "0.1.0"
