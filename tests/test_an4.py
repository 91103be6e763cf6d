"""AN4 data preparation (bnn/corpora/an4.py, bnn-prepare-an4) on the real corpus in ../shared."""
import os
import subprocess

import pytest

from bnn.corpora import an4
from bnn.kaldi import datadir
from bnn.utils.errors import BnnError


def _table(path):
    return dict(line.rstrip("\n").split(" ", 1) for line in open(path))


@pytest.fixture(scope="module")
def an4_prepared(shared_dir, tmp_path_factory, bnn_env):
    out = tmp_path_factory.mktemp("an4")
    corpus = shared_dir / "corpora" / "an4"
    proc = subprocess.run(["bnn-prepare-an4", "--corpus-dir", str(corpus), "--download", "false",
                           "--dict-dir", str(out / "dict"), str(out / "data")],
                          env=bnn_env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out, corpus


def test_sets_sizes_and_speaker_disjoint(an4_prepared):
    out, _ = an4_prepared
    spk = {x: set(_table(out / "data" / x / "utt2spk").values()) for x in ("train", "dev", "test")}
    utts = {x: _table(out / "data" / x / "text") for x in ("train", "dev", "test")}
    # 948 training utterances of 74 speakers split 66 + 8 speakers; 130 test utterances, 10 speakers
    assert len(spk["train"]) == 66 and len(spk["dev"]) == 8 and len(spk["test"]) == 10
    assert len(utts["train"]) + len(utts["dev"]) == 948 and len(utts["test"]) == 130
    assert not spk["train"] & spk["dev"] and not spk["train"] & spk["test"]
    assert sum(s.startswith("f") for s in spk["dev"]) == 4
    # the Kaldi AN4 experiment's utterance ids and transcripts (<s>, </s> dropped)
    assert utts["test"]["fcaw-an406-fcaw-b"] == "RUBOUT G M E F THREE NINE"
    for x in ("train", "dev", "test"):
        datadir.validate_data_dir(str(out / "data" / x), no_feats=True)
        assert os.path.exists(out / "data" / "manifests" / f"an4_supervisions_{x}.jsonl.gz")


def test_lhotse_manifests_round_trip(an4_prepared):
    from lhotse import load_manifest
    out, _ = an4_prepared
    sups = load_manifest(out / "data" / "manifests" / "an4_supervisions_test.jsonl.gz")
    recs = load_manifest(out / "data" / "manifests" / "an4_recordings_test.jsonl.gz")
    assert len(sups) == 130 and len(recs) == 130
    s = sups["fcaw-an406-fcaw-b"]
    assert s.speaker == "fcaw" and s.text == "RUBOUT G M E F THREE NINE"
    assert recs["fcaw-an406-fcaw-b"].sampling_rate == 16000


def test_dict_merges_alternates(an4_prepared):
    out, corpus = an4_prepared
    lex = [line.split() for line in open(out / "dict" / "lexicon.txt")]
    assert ["A", "AH"] in lex and ["A", "EY"] in lex  # A and A(2) in an4.dic
    assert not any("(" in e[0] for e in lex)
    assert ["<UNK>", "SPN"] in lex
    assert open(out / "dict" / "silence_phones.txt").read().split() == ["SIL", "SPN"]
    phones = set(open(corpus / "etc" / "an4.phone").read().split()) - {"SIL"}
    assert set(open(out / "dict" / "nonsilence_phones.txt").read().split()) == phones


def test_bad_transcription_line_names_file_and_line(tmp_path):
    p = tmp_path / "an4_train.transcription"
    p.write_text("<s> YES </s> (an1-fash-b)\nNO CLOSING PAREN\n")
    with pytest.raises(BnnError, match=r"an4_train.transcription:2: expected"):
        an4.read_transcription(str(p))


def test_dev_speakers_balanced_and_deterministic():
    spk = [f"f{i:02d}" for i in range(10)] + [f"m{i:02d}" for i in range(20)]
    dev = an4.dev_speakers(spk, 4)
    assert dev == an4.dev_speakers(list(reversed(spk)), 4)
    assert sum(s.startswith("f") for s in dev) == 2 and len(dev) == 4


def test_missing_corpus_without_download_says_what_to_pass(tmp_path, bnn_env):
    proc = subprocess.run(["bnn-prepare-an4", "--corpus-dir", str(tmp_path / "nope"), "--download",
                           "false", str(tmp_path / "data")], env=bnn_env, capture_output=True, text=True)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "--corpus-dir" in errors[0] and "nope" in errors[0]
    assert not (tmp_path / "data").exists()


def _systems(path):
    """(name, merged config, init-from name) of each line of an AN4 systems file."""
    import shlex
    from bnn.train.config import apply_override, load_config
    root = os.path.join(os.path.dirname(__file__), "..")
    out = []
    for line in open(os.path.join(root, "egs", "an4", "conf", path)):
        if not line.strip() or line.startswith("#"):
            continue
        name, config, *opts = shlex.split(line)
        args = dict(zip(opts[::2], opts[1::2]))
        merge = [os.path.join(root, "egs", "an4", m)
                 for m in args.get("--merge-configs", "").split()]
        cfg = load_config(os.path.join(root, "conf", "nnet", f"{config}.yaml"), merge=merge)
        for item in args.get("--overrides", "").split():
            cfg = apply_override(cfg, item)
        init = args.get("--init-from", "")
        out.append((name, cfg, os.path.basename(init) if init else None))
    return out


@pytest.mark.parametrize("systems", ["nnet_systems.txt", "nnet_systems_kaldi.txt"])
def test_systems_build_and_binary_nets_start_from_a_float_net_of_their_shape(systems):
    """Every line builds on AN4's 1320 inputs; a net initialised from another system (Lu et al.
    Sec. 3.1) has its width, depth and hidden units (binary weights on a ReLU net would not stay
    bounded the way sigmoid units keep them)."""
    from bnn.nn.models import build_model
    lines = _systems(systems)
    by_name = {}
    for name, cfg, init in lines:
        build_model(cfg["model"], 1320, 336)
        by_name.setdefault(name, cfg)
        if init is not None:
            assert init in by_name, f"{name}: init from {init}, which is not an earlier system"
            src = by_name[init]["model"]
            for key in ("hidden_dim", "num_hidden", "activation"):
                assert cfg["model"].get(key) == src.get(key), (name, key)


def test_kaldi_path_float_baseline_is_the_chosen_one():
    """Issues 13/14: the drop-in path's float baseline is the dev-chosen 6 x 512 ReLU / Adam net
    with newbob, and the recipe cross-validates on the dev speakers by default."""
    cfg = dict((n, c) for n, c, _ in _systems("nnet_systems_kaldi.txt"))["dnn_relu"]
    assert cfg["model"]["activation"] == "relu" and cfg["model"]["hidden_dim"] == 512
    assert cfg["train"]["optimizer"] == "adam" and cfg["train"]["schedule"] == "newbob"
    run_sh = open(os.path.join(os.path.dirname(__file__), "..", "egs", "an4", "run.sh")).read()
    assert "\nkaldi_cv_on_dev=true" in run_sh and '--dev-ali-dir "$dev_ali"' in run_sh
