"""What ``bnn-train`` does: set up data, model, teacher and model dir, then run the trainer."""
import logging
import os
import platform
import subprocess

import numpy as np
import torch

from bnn.feats.tables import load_entry
from bnn.data.frames import UtteranceSource, read_scp_keys, split_train_cv
from bnn.train import checkpoint, convergence
from bnn.train.config import load_config
from bnn.train.model_dir import (FeatureFrontend, estimate_input_norm, load_model,
                                 pipeline_from_args, pipeline_from_opts, pipeline_to_opts)
from bnn.train.trainer import init_distributed, run_training, train_config
from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)


def env_info() -> dict:
    """Versions and git hash logged at the start of training (icefall's env_info)."""
    import bnn
    root = os.path.dirname(os.path.dirname(os.path.abspath(bnn.__file__)))
    try:
        git = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        git = ""
    return {"bnn": bnn.__version__, "git": git or "unknown", "torch": str(torch.__version__),
            "numpy": np.__version__, "python": platform.python_version(),
            "host": platform.node()}


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", "0"))
            return torch.device("cuda", local)
        return torch.device("cpu")
    return torch.device(name)


def train_from_args(args) -> None:
    info = env_info()
    logger.info("environment: %s", info)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    device = pick_device(args.device)
    dist_info = init_distributed(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    cfg = load_config(args.config, args.set or [], merge=args.merge or [])
    if "model" not in cfg:
        raise BnnError(f"{args.config}: no 'model:' section")
    tcfg = train_config(cfg)
    seed = args.seed if args.seed is not None else int(tcfg.get("seed", 777))
    os.makedirs(args.dir, exist_ok=True)

    # Feature options: inherited from the initialising model when there is one, so that a
    # fixed input layer keeps seeing the inputs it was trained on.
    init_payload = checkpoint.load(args.init_from) if args.init_from else None
    if init_payload is not None:
        pipeline = pipeline_from_opts(init_payload["feature_opts"])
    else:
        cmvn_opts = args.cmvn_opts
        if args.cmvn_opts_file:
            with open(args.cmvn_opts_file) as f:
                cmvn_opts = f.read().strip()
        pipeline = pipeline_from_args(cmvn_opts, args.delta_order, args.splice)
    feat_opts = pipeline_to_opts(pipeline)

    train_feats = os.path.join(args.train_data, "feats.scp")
    frontend = FeatureFrontend(pipeline, data_dir=args.train_data)
    train_source = UtteranceSource(train_feats, _scp(args.train_targets), frontend)
    utts = train_source.utterances()
    if not utts:
        raise BnnError(f"{train_feats}: no utterance has both features and targets")
    if args.cv_data:
        cv_frontend = FeatureFrontend(pipeline, data_dir=args.cv_data)
        cv_source = UtteranceSource(os.path.join(args.cv_data, "feats.scp"),
                                    _scp(args.cv_targets or args.train_targets), cv_frontend)
        train_utts, cv_utts = utts, cv_source.utterances()
    else:
        cv_frontend = frontend
        cv_source = train_source
        train_utts, cv_utts = split_train_cv(utts, args.cv_percent, seed)
    logger.info("%d training utterances, %d cross-validation utterances", len(train_utts),
                len(cv_utts))

    raw_dim = np.asarray(load_entry(train_source._feats, train_utts[0], train_feats)).shape[1]
    input_dim = frontend.input_dim(raw_dim)
    num_pdfs = args.num_pdfs
    if init_payload is not None:
        mean, std = init_payload["input_mean"].numpy(), init_payload["input_std"].numpy()
        if init_payload["input_dim"] != input_dim:
            raise BnnError(f"{args.init_from}: initialising model has input dim "
                           f"{init_payload['input_dim']} but the features give {input_dim}")
    else:
        mean, std = estimate_input_norm(frontend, train_source._feats, train_utts, seed=seed)
    for fe in (frontend, cv_frontend):
        fe.input_mean, fe.input_std = mean, std
    check_target_range(train_source, train_utts[:20], num_pdfs, args.train_targets)

    from bnn.nn.models import build_model
    torch.manual_seed(seed)
    model = build_model(cfg["model"], input_dim, num_pdfs)
    if init_payload is not None:
        if init_payload["num_pdfs"] != num_pdfs:
            raise BnnError(f"{args.init_from}: initialising model has {init_payload['num_pdfs']} "
                           f"outputs but the alignments have {num_pdfs} pdfs")
        model.load_init(init_payload["state_dict"])
        logger.info("initialised from %s", args.init_from)
    logger.info("model: %s", model)

    teacher = None
    if args.teacher:
        teacher, tpayload = load_model(args.teacher)
        if tpayload["feature_opts"] != feat_opts or tpayload["input_dim"] != input_dim:
            raise BnnError(f"{args.teacher}: teacher's feature pipeline {tpayload['feature_opts']}"
                           f" differs from the student's {feat_opts}")
        if tpayload["num_pdfs"] != num_pdfs:
            raise BnnError(f"{args.teacher}: teacher has {tpayload['num_pdfs']} outputs, "
                           f"targets have {num_pdfs} pdfs")
        teacher.to(device)
        if not tcfg.get("kd"):
            raise BnnError(f"{args.config}: --teacher given but the config has no train.kd")
    elif tcfg.get("kd"):
        raise BnnError(f"{args.config}: train.kd is set: pass --teacher <model dir>")

    payload = {"format": checkpoint.FORMAT, "config": cfg, "input_dim": input_dim,
               "num_pdfs": num_pdfs, "feature_opts": feat_opts,
               "input_mean": torch.from_numpy(np.asarray(mean)),
               "input_std": torch.from_numpy(np.asarray(std)), "env": info}
    if args.init_from:
        payload["init_from"] = os.path.abspath(args.init_from)
    if dist_info.is_main:
        pipeline.write(args.dir)
        with open(os.path.join(args.dir, "num_pdfs"), "w") as f:
            f.write(f"{num_pdfs}\n")
    conv_window, conv_threshold = convergence.options(cfg)
    history = run_training(model=model, model_payload=payload, out_dir=args.dir, tcfg=tcfg,
                           train_source=train_source,
                           train_utts=train_utts[dist_info.rank::dist_info.world],
                           cv_source=cv_source, cv_utts=cv_utts[dist_info.rank::dist_info.world],
                           seed=seed, device=device, resume=args.resume, teacher=teacher,
                           dist_info=dist_info)
    record_convergence(history, args.dir, conv_window, conv_threshold, dist_info.is_main)
    if dist_info.world > 1:
        import torch.distributed as dist
        dist.destroy_process_group()


def record_convergence(history: dict, out_dir: str, window: int, threshold: float,
                       write: bool = True) -> None:
    """Warn in the training log when the last epochs still improved CV accuracy by more than
    ``threshold`` (:mod:`bnn.train.convergence`) and store the record in ``history.json``
    (key ``convergence``), where bnn-make-results-table reads it to mark the row."""
    from bnn.train.trainer import write_json
    rec = convergence.check(history, window, threshold)
    if rec is None:
        return
    history["convergence"] = rec
    if rec["converged"]:
        logger.info("converged: CV frame accuracy changed by %.2f%% in the last %d epoch(s) "
                    "(threshold %g%%)", rec["gain"], rec["window"], threshold)
    else:
        logger.warning("%s", convergence.message(rec))
    if write:
        write_json(os.path.join(out_dir, "history.json"), history)


def _scp(spec: str) -> str:
    """Accept ``scp:file`` or a plain scp path."""
    return spec[4:] if spec.startswith("scp:") else spec


def check_target_range(source: UtteranceSource, utts, num_pdfs: int, name: str) -> None:
    """Fail before training when targets do not fit the network's output size."""
    for utt in utts:
        y = np.asarray(source._targets[utt])
        if len(y) and (y.max() >= num_pdfs or y.min() < 0):
            raise BnnError(f"{name}: utterance {utt} has pdf-id {int(y.max())} but the network "
                           f"has {num_pdfs} outputs (pdf count of the alignment model)")
