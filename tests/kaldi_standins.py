"""Stand-ins for users' Kaldi experiments, built from ``../shared/fixtures/kaldi_an4_s5``.

:func:`make_standin` lays out a directory exactly like Kaldi's ``egs/wsj/s5``, ``egs/ami/s5b`` or
``egs/swbd/s5c`` after their GMM stages (the real data set, exp and graph names), filled with the
AN4 fixture's real Kaldi files: models, alignments, graphs and decode dirs are symlinks into the
fixture (per file, in real directories, so a test can replace one file), data dirs are small
subsets written here.  The stand-in lives in ``<root>/kaldi/egs/<corpus>/<s5>`` so that
``$KALDI_ROOT`` resolves to ``<root>/kaldi`` as Kaldi's path.sh computes it.

* ``wav.scp`` entries are pipes, as users' are: ``cat /abs/an4.wav |`` (WSJ's and Switchboard's
  real ones are ``sph2pipe -f wav -p -c 1 x.wv1 |``; the test replaces one by that to check the
  missing-tool message).  AMI and Switchboard test sets carry ``segments`` (whole recordings:
  end time -1) and Switchboard's eval2000/rt03 an ``stm``, a ``glm`` and utterance ids with the
  corpus prefixes (``sw_``/``en_`` for eval2000's Switchboard/CallHome parts, ``sw_``/``fsh_``
  for RT03S) that the recipe splits on.
* The training set keeps the fixture's utterance ids (the alignments are keyed on them); test
  sets are the fixture's 10 test speakers split between the dev and test sets, their shortest
  utterances first (decoding time of the tests).
* Kaldi's GMM decode dirs are the fixture's ``exp/tri2b/decode_test`` (scored on all 130 test
  utterances by Kaldi's score_kaldi.sh: ``wer_*``); a real swbd/s5c decode dir is scored by sclite
  instead.
* Every model is the fixture's tri2b (336 pdfs): the stand-in's ``tri4b``/``tri3``/``tri4``.
Nothing is written into the fixture.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import wave
from typing import Dict, List, Optional, Sequence, Tuple

FIXTURE = "fixtures/kaldi_an4_s5"
S5 = {"wsj": "wsj/s5", "ami": "ami/s5b", "swbd": "swbd/s5c"}
AMI_LM = "ami_fsh.o3g.kn.pr1-7"


def _read_table(path: pathlib.Path) -> Dict[str, str]:
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            parts = line.strip().split(None, 1)
            if parts:
                out[parts[0]] = parts[1] if len(parts) > 1 else ""
    return out


def _write(path: pathlib.Path, lines: Sequence[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


def link_tree(src: pathlib.Path, dst: pathlib.Path, skip: Sequence[str] = ()) -> None:
    """``dst`` a real directory of symlinks to each entry of ``src`` (sub-dirs linked whole)."""
    dst.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.iterdir()):
        if p.name not in skip:
            (dst / p.name).symlink_to(p)


def wav_duration(path: pathlib.Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / float(w.getframerate())


def write_data_dir(fix: pathlib.Path, src: str, dest: pathlib.Path,
                   utts: Sequence[Tuple[str, str, str]], *, segments: bool = False,
                   stm: bool = False) -> None:
    """Write a Kaldi data dir ``dest`` with the fixture utterances ``utts`` = ``[(src utt, new utt,
    new speaker)]`` of ``<fixture>/data/<src>``: text, utt2spk, spk2utt, spk2gender, wav.scp
    (``cat <abs wav> |`` pipes), feats.scp/cmvn.scp (the fixture's archives, relative to the s5
    dir as Kaldi writes them), utt2num_frames, utt2dur; with ``segments`` one recording per
    utterance (``<utt>_rec``) and a segments file; with ``stm`` a NIST stm and a glm."""
    d = fix / "data" / src
    text, wav, feats = _read_table(d / "text"), _read_table(d / "wav.scp"), _read_table(d / "feats.scp")
    spk_of, cmvn = _read_table(d / "utt2spk"), _read_table(d / "cmvn.scp")
    nfr, gender = _read_table(d / "utt2num_frames"), _read_table(d / "spk2gender")
    utts = sorted(utts, key=lambda u: u[1])
    spk2utt: Dict[str, List[str]] = {}
    spk_src: Dict[str, str] = {}
    wav_lines, seg_lines, stm_lines, dur_lines = [], [], [], []
    for s, u, spk in utts:
        spk2utt.setdefault(spk, []).append(u)
        spk_src[spk] = spk_of[s]
        audio = os.path.normpath(fix / wav[s])  # relative to the fixture root, as Kaldi ran it
        rec = f"{u}_rec" if segments else u
        wav_lines.append(f"{rec} cat {audio} |")
        dur = wav_duration(pathlib.Path(audio))
        dur_lines.append(f"{u} {dur:.4f}")
        if segments:
            seg_lines.append(f"{u} {rec} 0.00 -1")
        if stm:
            stm_lines.append(f"{rec} A {spk} 0.00 {dur:.2f} <O,{gender.get(spk_of[s], 'm').upper()}> {text[s]}")
    _write(dest / "text", [f"{u} {text[s]}" for s, u, _ in utts])
    _write(dest / "utt2spk", [f"{u} {spk}" for _, u, spk in utts])
    _write(dest / "spk2utt", [f"{spk} {' '.join(us)}" for spk, us in sorted(spk2utt.items())])
    _write(dest / "spk2gender", [f"{spk} {gender[spk_src[spk]]}" for spk in sorted(spk2utt)])
    _write(dest / "wav.scp", sorted(wav_lines))
    _write(dest / "feats.scp", [f"{u} {feats[s]}" for s, u, _ in utts])
    _write(dest / "cmvn.scp", [f"{spk} {cmvn[spk_src[spk]]}" for spk in sorted(spk2utt)])
    _write(dest / "utt2num_frames", [f"{u} {nfr[s]}" for s, u, _ in utts])
    _write(dest / "utt2dur", dur_lines)
    _write(dest / "frame_shift", ["0.01"])
    if segments:
        _write(dest / "segments", seg_lines)
        _write(dest / "reco2file_and_channel", [f"{u}_rec {u}_rec A" for _, u, _ in utts])
    if stm:
        _write(dest / "stm", [';; stand-in stm (Hub5 layout: file channel speaker start end '
                              '<O,sex> words)'] + sorted(stm_lines))
        _write(dest / "glm", [";; stand-in glm (NIST global mapping file)",
                              "* name \"stand-in\"", "* desc \"no mappings\""])


def _by_speaker(fix: pathlib.Path, src: str, shortest: bool = False) -> Dict[str, List[str]]:
    """Utterances per speaker, by id (or, with ``shortest``, shortest first: fast test decodes)."""
    out: Dict[str, List[str]] = {}
    for utt, spk in _read_table(fix / "data" / src / "utt2spk").items():
        out.setdefault(spk, []).append(utt)
    nfr = _read_table(fix / "data" / src / "utt2num_frames")
    key = (lambda u: (int(nfr[u]), u)) if shortest else None
    return {k: sorted(v, key=key) for k, v in sorted(out.items())}


def _pick(by_spk: Dict[str, List[str]], spks: Sequence[str], n: int) -> List[Tuple[str, str]]:
    """``n`` utterances spread over ``spks`` (round robin), as ``[(utt, spk)]``."""
    out, i = [], 0
    while len(out) < n and any(i < len(by_spk[s]) for s in spks):
        for s in spks:
            if i < len(by_spk[s]) and len(out) < n:
                out.append((by_spk[s][i], s))
        i += 1
    return out


def _gmm(fix: pathlib.Path, s5: pathlib.Path, model: str, ali: str, graph: str,
         decodes: Sequence[str]) -> None:
    """exp/<model> (tri2b's files), <graph> (tri2b's graph), Kaldi decode dirs, exp/<ali>."""
    link_tree(fix / "exp/tri2b", s5 / "exp" / model, skip=("graph", "decode_test"))
    link_tree(fix / "exp/tri2b/graph", s5 / "exp" / model / graph)
    for dname in decodes:
        (s5 / "exp" / model / dname).symlink_to(fix / "exp/tri2b/decode_test")
    link_tree(fix / "exp/tri2b_ali", s5 / "exp" / ali)


def make_standin(corpus: str, shared: pathlib.Path, root: pathlib.Path, n_train: int = 48,
                 n_test: int = 6, n_train_spk: int = 12) -> pathlib.Path:
    """Build the ``corpus`` (wsj | ami | swbd) stand-in under ``root``; returns its s5 dir."""
    fix = (shared / FIXTURE).resolve()
    s5 = root / "kaldi" / "egs" / S5[corpus]
    s5.mkdir(parents=True)
    for name in ("mfcc", "conf"):
        (s5 / name).symlink_to(fix / name)
    (s5 / "data").mkdir()
    (s5 / "data/lang").symlink_to(fix / "data/lang")
    train_spk = _by_speaker(fix, "train")
    spks = list(train_spk)[:n_train_spk]
    train = [(u, u, s) for u, s in _pick(train_spk, spks, n_train)]
    test_spk = _by_speaker(fix, "test", shortest=True)
    tspk = list(test_spk)
    first = _pick(test_spk, tspk[:5], n_test)
    second = _pick(test_spk, tspk[5:], n_test)
    if corpus == "wsj":
        write_data_dir(fix, "train", s5 / "data/train_si284", train)
        write_data_dir(fix, "test", s5 / "data/test_dev93", [(u, u, s) for u, s in first])
        write_data_dir(fix, "test", s5 / "data/test_eval92", [(u, u, s) for u, s in second])
        (s5 / "data/lang_test_tgpr").symlink_to(fix / "data/lang_test")
        _gmm(fix, s5, "tri4b", "tri4b_ali_si284", "graph_tgpr",
             ["decode_tgpr_dev93", "decode_tgpr_eval92"])
    elif corpus == "ami":
        (s5 / "data/ihm").mkdir()
        write_data_dir(fix, "train", s5 / "data/ihm/train", train, segments=True)
        write_data_dir(fix, "test", s5 / "data/ihm/dev", [(u, u, s) for u, s in first], segments=True)
        write_data_dir(fix, "test", s5 / "data/ihm/eval", [(u, u, s) for u, s in second], segments=True)
        (s5 / f"data/lang_{AMI_LM}").symlink_to(fix / "data/lang_test")
        (s5 / "exp/ihm").mkdir(parents=True)
        _gmm(fix, s5, "ihm/tri3", "ihm/tri3_ali", f"graph_{AMI_LM}",
             [f"decode_dev_{AMI_LM}", f"decode_eval_{AMI_LM}"])
    elif corpus == "swbd":
        write_data_dir(fix, "train", s5 / "data/train_nodup", train)
        dev_spk = list(train_spk)[n_train_spk:n_train_spk + 3]
        write_data_dir(fix, "train", s5 / "data/train_dev",
                       [(u, u, s) for u, s in _pick(train_spk, dev_spk, n_test)])

        def renamed(pairs, prefixes):  # eval2000: sw_ (Switchboard) / en_ (CallHome) speakers
            spk_list = sorted({s for _, s in pairs})
            pre = {s: prefixes[i % 2] for i, s in enumerate(spk_list)}
            return [(u, f"{pre[s]}{u}", f"{pre[s]}{s}") for u, s in pairs]
        write_data_dir(fix, "test", s5 / "data/eval2000", renamed(first + second[: n_test // 2],
                                                                  ("sw_", "en_")),
                       segments=True, stm=True)
        write_data_dir(fix, "test", s5 / "data/rt03", renamed(second[n_test // 2:], ("sw_", "fsh_")),
                       segments=True, stm=True)
        (s5 / "data/lang_sw1_tg").symlink_to(fix / "data/lang_test")
        _gmm(fix, s5, "tri4", "tri4_ali_nodup", "graph_sw1_tg",
             ["decode_eval2000_sw1_tg", "decode_rt03_sw1_tg"])
    else:
        raise ValueError(corpus)
    return s5


def replace_link_with_copy(path: pathlib.Path) -> pathlib.Path:
    """Turn a symlink of the stand-in into a writable copy of its target (for error tests)."""
    target = path.resolve()
    path.unlink()
    if target.is_dir():
        shutil.copytree(target, path)
    else:
        shutil.copy(target, path)
    return path


__all__ = ["make_standin", "link_tree", "write_data_dir", "replace_link_with_copy", "S5",
           "AMI_LM", "FIXTURE"]
