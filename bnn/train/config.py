"""Network configs (``conf/nnet/*.yaml``): loading, ``base:`` inheritance and ``--set`` overrides.

A config has a ``model:`` section (read by :func:`bnn.nn.models.build_model`) and a ``train:``
section (read by :mod:`bnn.train.trainer`).  A recipe may shrink a paper-sized config without
copying it::

    base: ../../../conf/nnet/lu_binary_weights_p0.yaml   # relative to this file
    model: {hidden_dim: 256}

Mappings are merged recursively (the derived file wins); ``--set model.hidden_dim=256`` on the
command line is applied last, its value parsed as YAML.
"""
import copy
import os

import yaml

from bnn.utils.errors import BnnError


def deep_merge(base: dict, override: dict) -> dict:
    """Recursively merge ``override`` into a copy of ``base``."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(path: str, overrides=(), _seen=None, merge=()) -> dict:
    """Load ``path`` following its ``base:`` chain, deep-merge the ``merge`` files (e.g. a
    recipe's size file that shrinks every paper config alike), then apply ``key.sub=value``
    overrides."""
    seen = set() if _seen is None else _seen
    real = os.path.realpath(path)
    if real in seen:
        raise BnnError(f"{path}: circular 'base:' chain")
    seen.add(real)
    try:
        with open(path) as f:
            cfg = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise BnnError(f"{path}: config file not found") from None
    except yaml.YAMLError as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        where = f" line {line + 1}" if line is not None else ""
        raise BnnError(f"{path}{where}: invalid YAML") from None
    if not isinstance(cfg, dict):
        raise BnnError(f"{path}: a network config must be a YAML mapping")
    base = cfg.pop("base", None)
    if base:
        base_path = base if os.path.isabs(base) else os.path.join(os.path.dirname(path), base)
        cfg = deep_merge(load_config(base_path, (), seen), cfg)
    for extra in merge:
        cfg = deep_merge(cfg, load_config(extra))
    for item in overrides:
        cfg = apply_override(cfg, item)
    return cfg


def apply_override(cfg: dict, item: str) -> dict:
    """Apply one ``a.b.c=value`` override (value parsed as YAML)."""
    if "=" not in item:
        raise BnnError(f"--set {item}: expected key.path=value")
    key, value = item.split("=", 1)
    parts = key.strip().split(".")
    out = copy.deepcopy(cfg)
    node = out
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise BnnError(f"--set {item}: '{part}' is not a mapping")
    node[parts[-1]] = yaml.safe_load(value)
    return out
