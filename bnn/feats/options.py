"""Kaldi option files (``conf/fbank.conf``, ``conf/mfcc.conf``) mapped onto kaldi-native-fbank.

Option-file syntax, as Kaldi's ``ParseOptions::ReadConfigFile`` (src/util/parse-options.cc) reads it:
one option per line, ``--name=value`` or ``--name`` (a boolean set to true); everything from the
first ``#`` on a line is a comment; blank lines are skipped; ``_`` and ``-`` in names are the same
(Kaldi's ``NormalizeArgName``); booleans are ``true/false`` (also ``t/f/1/0``, case-insensitive).

Every option is taken from Kaldi's defaults first and then from the file, and *every* field of the
kaldi-native-fbank options object is set explicitly: its own defaults differ from Kaldi's
(``samp_freq`` 16000, ``dither`` 3e-5 for [-1, 1] audio instead of Kaldi's 1.0 on raw int16
samples).  Kaldi defaults are those of ``FrameExtractionOptions`` (src/feat/feature-window.h),
``MelBanksOptions`` (src/feat/mel-computations.h, 23 bins as set by FbankOptions/MfccOptions),
``FbankOptions`` (src/feat/feature-fbank.h) and ``MfccOptions`` (src/feat/feature-mfcc.h); the
program options (``--channel``, ``--subtract-mean``, ...) are those of compute-fbank-feats.cc /
compute-mfcc-feats.cc.  An option that neither Kaldi's feature code nor the program knows is an
error (one line naming the file, line and option), as it is in Kaldi.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, List, Optional, Tuple

import kaldi_native_fbank as knf

from bnn.utils.errors import BnnError

WINDOW_TYPES = ("hamming", "hanning", "povey", "rectangular", "sine", "blackman")

# kaldi option name -> (section, attribute, type, Kaldi default)
_FRAME = {
    "sample-frequency": ("frame", "samp_freq", float, 16000.0),
    "frame-shift": ("frame", "frame_shift_ms", float, 10.0),
    "frame-length": ("frame", "frame_length_ms", float, 25.0),
    "dither": ("frame", "dither", float, 1.0),
    "preemphasis-coefficient": ("frame", "preemph_coeff", float, 0.97),
    "remove-dc-offset": ("frame", "remove_dc_offset", bool, True),
    "window-type": ("frame", "window_type", str, "povey"),
    "round-to-power-of-two": ("frame", "round_to_power_of_two", bool, True),
    "blackman-coeff": ("frame", "blackman_coeff", float, 0.42),
    "snip-edges": ("frame", "snip_edges", bool, True),
    # Handled by the program (resampling is not implemented: a mismatch is an error either way).
    "allow-downsample": ("program", "allow_downsample", bool, False),
    "allow-upsample": ("program", "allow_upsample", bool, False),
    "max-feature-vectors": ("program", "max_feature_vectors", int, -1),
}
_MEL = {
    "num-mel-bins": ("mel", "num_bins", int, 23),
    "low-freq": ("mel", "low_freq", float, 20.0),
    "high-freq": ("mel", "high_freq", float, 0.0),
    "vtln-low": ("mel", "vtln_low", float, 100.0),
    "vtln-high": ("mel", "vtln_high", float, -500.0),
    "debug-mel": ("mel", "debug_mel", bool, False),
}
_FBANK = {
    "use-energy": ("top", "use_energy", bool, False),
    "energy-floor": ("top", "energy_floor", float, 0.0),
    "raw-energy": ("top", "raw_energy", bool, True),
    "htk-compat": ("top", "htk_compat", bool, False),
    "use-log-fbank": ("top", "use_log_fbank", bool, True),
    "use-power": ("top", "use_power", bool, True),
}
_MFCC = {
    "num-ceps": ("top", "num_ceps", int, 13),
    "use-energy": ("top", "use_energy", bool, True),
    "energy-floor": ("top", "energy_floor", float, 0.0),
    "raw-energy": ("top", "raw_energy", bool, True),
    "cepstral-lifter": ("top", "cepstral_lifter", float, 22.0),
    "htk-compat": ("top", "htk_compat", bool, False),
}
# Options of compute-{fbank,mfcc}-feats itself (may also appear in the config file).
_PROGRAM = {
    "channel": ("program", "channel", int, -1),
    "vtln-warp": ("program", "vtln_warp", float, 1.0),
    "subtract-mean": ("program", "subtract_mean", bool, False),
    "min-duration": ("program", "min_duration", float, 0.0),
}

OPTION_TABLES = {
    "fbank": {**_FRAME, **_MEL, **_FBANK, **_PROGRAM},
    "mfcc": {**_FRAME, **_MEL, **_MFCC, **_PROGRAM},
}


@dataclasses.dataclass
class ProgramOptions:
    """Options of the compute program rather than of the feature computer (Kaldi defaults)."""
    channel: int = -1
    vtln_warp: float = 1.0
    subtract_mean: bool = False
    min_duration: float = 0.0
    allow_downsample: bool = False
    allow_upsample: bool = False
    max_feature_vectors: int = -1


def normalize_name(name: str) -> str:
    """Kaldi's ``NormalizeArgName``: lower case, ``_`` -> ``-``."""
    return name.strip().lower().replace("_", "-")


def parse_bool(text: str, where: str) -> bool:
    """Kaldi's ``ParseOptions::ToBool``."""
    low = text.strip().lower()
    if low in ("true", "t", "1"):
        return True
    if low in ("false", "f", "0"):
        return False
    raise BnnError(f"{where}: invalid boolean '{text}' (expected true or false)")


def split_option(arg: str, where: str) -> Tuple[str, Optional[str]]:
    """``--name=value`` -> (normalized name, value); ``--name`` -> (name, None)."""
    if not arg.startswith("--") or len(arg) <= 2:
        raise BnnError(f"{where}: '{arg}' is not an option (expected --name=value)")
    body = arg[2:]
    if "=" in body:
        name, value = body.split("=", 1)
        return normalize_name(name), value.strip()
    return normalize_name(body), None


def read_option_file(path: str) -> List[Tuple[str, Optional[str], str]]:
    """Read a Kaldi option file; returns ``[(name, value_or_None, "<file>:<line>"), ...]`` in order.

    Comments (``#`` to end of line) and blank lines are skipped; any other line must be an option.
    """
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise BnnError(f"{path}: cannot read option file: {err.strerror or err}") from None
    options = []
    for lineno, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{path}:{lineno}"
        if " " in line or "\t" in line:
            raise BnnError(f"{where}: '{line}' has more than one token (one --name=value per line)")
        name, value = split_option(line, where)
        options.append((name, value, where))
    return options


def _convert(value: Optional[str], typ, name: str, where: str):
    if typ is bool:
        return True if value is None else parse_bool(value, f"{where}: --{name}")
    if value is None:
        raise BnnError(f"{where}: option --{name} needs a value")
    try:
        if typ is int:
            return int(value)
        if typ is float:
            return float(value)
    except ValueError:
        raise BnnError(f"{where}: --{name}={value} is not a valid {typ.__name__}") from None
    if name == "window-type" and value not in WINDOW_TYPES:
        raise BnnError(f"{where}: --window-type={value} is not one of {', '.join(WINDOW_TYPES)}")
    return value


def resolve_options(kind: str, options: Iterable[Tuple[str, Optional[str], str]]) -> Dict[str, object]:
    """Kaldi defaults for ``kind`` ('fbank' or 'mfcc') overlaid with ``options`` (later wins).

    Returns ``{kaldi-option-name: typed value}`` for every option of the kind.
    """
    if kind not in OPTION_TABLES:
        raise BnnError(f"unknown feature type '{kind}' (expected fbank or mfcc)")
    table = OPTION_TABLES[kind]
    values = {name: spec[3] for name, spec in table.items()}
    for name, value, where in options:
        if name not in table:
            raise BnnError(f"{where}: unknown option --{name} for {kind} features")
        values[name] = _convert(value, table[name][2], name, where)
    return values


def build_knf_options(kind: str, values: Dict[str, object]):
    """Build ``knf.FbankOptions``/``knf.MfccOptions`` with every field set; plus :class:`ProgramOptions`.

    kaldi-native-fbank fields that Kaldi does not have are pinned to the values that reproduce
    Kaldi (no librosa/slaney mel scale, ``log(max(x, FLT_EPSILON))`` floor).
    """
    table = OPTION_TABLES[kind]
    opts = knf.FbankOptions() if kind == "fbank" else knf.MfccOptions()
    program = ProgramOptions()
    sections = {"frame": opts.frame_opts, "mel": opts.mel_opts, "top": opts, "program": program}
    for name, spec in table.items():
        section, attr, _typ, _default = spec
        setattr(sections[section], attr, values[name])
    # kaldi-native-fbank extensions: pin them to Kaldi's behaviour.
    opts.mel_opts.htk_mode = False
    opts.mel_opts.is_librosa = False
    opts.mel_opts.use_slaney_mel_scale = True  # only read when is_librosa is true
    opts.mel_opts.floor_to_int_bin = False
    if kind == "fbank":
        opts.use_log_floor = True
        opts.eps = 1.1920928955078125e-07  # FLT_EPSILON, Kaldi's log floor
    _check(kind, values)
    return opts, program


def _check(kind: str, values: Dict[str, object]) -> None:
    if values["sample-frequency"] <= 0:
        raise BnnError(f"--sample-frequency must be positive, got {values['sample-frequency']}")
    if values["frame-shift"] <= 0 or values["frame-length"] <= 0:
        raise BnnError("--frame-shift and --frame-length must be positive")
    nyquist = 0.5 * values["sample-frequency"]
    high = values["high-freq"]
    high = high + nyquist if high <= 0 else high
    if not 0 <= values["low-freq"] < high <= nyquist:
        raise BnnError(f"bad mel range: --low-freq={values['low-freq']} --high-freq="
                       f"{values['high-freq']} at --sample-frequency={values['sample-frequency']}")
    if kind == "mfcc" and values["num-ceps"] > values["num-mel-bins"]:
        raise BnnError(f"--num-ceps={values['num-ceps']} exceeds --num-mel-bins={values['num-mel-bins']}")
    if values["vtln-warp"] != 1.0:
        raise BnnError("--vtln-warp other than 1.0 is not supported")


def load_feature_options(kind: str, config: Optional[str] = None,
                         overrides: Iterable[str] = ()):
    """Options for ``kind`` from Kaldi defaults, then ``config`` (an option file), then ``overrides``.

    ``overrides`` are command-line style strings (``--dither=0``) that win over the file, as
    Kaldi's command line wins over ``--config``.  Returns ``(knf_options, ProgramOptions)``.
    """
    pairs = read_option_file(config) if config else []
    for arg in overrides:
        name, value = split_option(arg, "command line")
        pairs.append((name, value, "command line"))
    values = resolve_options(kind, pairs)
    return build_knf_options(kind, values)


def feature_dim(kind: str, config: Optional[str] = None, overrides: Iterable[str] = ()) -> int:
    """Feature dimension the options produce (num bins/ceps, plus 1 when energy is used)."""
    opts, _ = load_feature_options(kind, config, overrides)
    if kind == "fbank":
        return opts.mel_opts.num_bins + (1 if opts.use_energy else 0)
    return opts.num_ceps


def options_as_kaldi_text(kind: str, values: Dict[str, object]) -> str:
    """Render resolved option values as a Kaldi option file (for logs and round trips)."""
    lines = []
    for name in sorted(values):
        value = values[name]
        if isinstance(value, bool):
            value = "true" if value else "false"
        lines.append(f"--{name}={value}")
    return "\n".join(lines) + "\n"


__all__ = [
    "ProgramOptions", "read_option_file", "resolve_options", "build_knf_options",
    "load_feature_options", "feature_dim", "options_as_kaldi_text", "split_option",
    "parse_bool", "normalize_name", "OPTION_TABLES",
]
