"""The WSJ LDC parser (bnn.corpora.wsj) on a miniature LDC tree written here: NIST SPHERE .wv1
files made from real AN4 audio (header written by hand, independently of the reader), .dot
prompt files and .ndx indices laid out as on the WSJ0/WSJ1 discs."""
import os
import pathlib
import subprocess
import wave

import kaldiio
import numpy as np
import pytest

from bnn.corpora import wsj
from bnn.utils.errors import BnnError

AN4 = "corpora/an4/wav/an4_clstk"


def write_sphere(path: pathlib.Path, samples: np.ndarray, rate: int, coding: str = "pcm") -> None:
    fields = [("database_id", "-s3", "WSJ"), ("channel_count", "-i", "1"),
              ("sample_count", "-i", str(len(samples))), ("sample_rate", "-i", str(rate)),
              ("sample_n_bytes", "-i", "2"), ("sample_byte_format", "-s2", "01"),
              ("sample_coding", f"-s{len(coding)}", coding), ("sample_sig_bits", "-i", "16")]
    body = "".join(f"{k} {t} {v}\n" for k, t, v in fields) + "end_head\n"
    head = f"NIST_1A\n   1024\n{body}".encode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head + b" " * (1024 - len(head)) + samples.astype("<i2").tobytes())


def read_wav(path) -> tuple:
    with wave.open(str(path)) as w:
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


@pytest.fixture(scope="module")
def ldc_tree(shared_dir, tmp_path_factory):
    """Two WSJ0 discs and one WSJ1 disc: SI-84 training (2 speakers), eval92, dev93."""
    root = tmp_path_factory.mktemp("wsj")
    wavs = sorted((shared_dir / AN4).rglob("*.wav"))[:7]
    audio = [read_wav(w) for w in wavs]
    # (disc dir, relative dir, utt, prompt)
    utts = [
        ("wsj0/11-1.1", "wsj0/si_tr_s/01a", "01aa0101", "THE INDEX ROSE [loud_breath] \\.PERIOD"),
        ("wsj0/11-1.1", "wsj0/si_tr_s/01a", "01aa0102", "*mispronounced* words of Mr. <Smith> ~"),
        ("wsj0/11-1.1", "wsj0/si_tr_s/01b", "01ba0101", "second speaker [<door_slam] here"),
        ("wsj1/13-1.1", "wsj1/si_tr_s/4aa", "4aaa0201", "a wsj1 training sentence"),
        ("wsj0/11-2.1", "wsj0/si_et_20/440", "440c0201", "eval ninety two ."),
        ("wsj1/13-1.1", "wsj1/si_dt_20/4k0", "4k0c0301", "dev ninety three"),
        ("wsj1/13-1.1", "wsj1/si_dt_20/4k0", "4k0c0302", "no prompt for me"),
    ]
    dots = {}
    for i, (disc, rel, utt, prompt) in enumerate(utts):
        rate, x = audio[i]
        write_sphere(root / disc / rel / f"{utt}.wv1", x, rate)
        if utt != "4k0c0302":  # a listed utterance without a prompt line: skipped with a warning
            dots.setdefault(root / disc / rel / f"{utt[:6]}00.dot", []).append(f"{prompt} ({utt})")
    for p, lines in dots.items():
        p.write_text("\n".join(lines) + "\n")
    ndx = {
        "wsj0/11-13.1/wsj0/doc/indices/train/tr_s_wv1.ndx":
            [";; SI-84 training", "11_2_1:wsj0/si_tr_s/401/401c0201.wv1",  # left out, as Kaldi
             "11_1_1:wsj0/si_tr_s/01a/01aa0101.wv1",
             "11_1_1:wsj0/si_tr_s/01a/01aa0102.wv1", "11_1_1:wsj0/si_tr_s/01b/01ba0101.wv1"],
        "wsj1/13-34.1/wsj1/doc/indices/si_tr_s.ndx": [";", "13_1_1:wsj1/si_tr_s/4aa/4aaa0201.wv1"],
        "wsj0/11-13.1/wsj0/doc/indices/test/nvp/si_et_20.ndx": ["11_2_1:wsj0/si_et_20/440/440c0201"],
        "wsj1/13-34.1/wsj1/doc/indices/h1_p0.ndx": ["13_1_1:wsj1/si_dt_20/4k0/4k0c0301.wv1",
                                                    "13_1_1:wsj1/si_dt_20/4k0/4k0c0302.wv1"],
    }
    for rel, lines in ndx.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("\n".join(lines) + "\n")
    return root, wavs, audio


def test_sphere_reader_is_sample_exact(ldc_tree, tmp_path):
    root, wavs, audio = ldc_tree
    rate, x = wsj.read_sphere(str(root / "wsj0/11-1.1/wsj0/si_tr_s/01a/01aa0101.wv1"))
    assert rate == audio[0][0] == 16000
    np.testing.assert_array_equal(x[:, 0], audio[0][1])
    out = tmp_path / "x.wav"
    out.write_bytes(wsj.sphere_to_wav_bytes(str(root / "wsj0/11-1.1/wsj0/si_tr_s/01a/01aa0101.wv1")))
    assert read_wav(out)[1].tolist() == audio[0][1].tolist()


def test_sphere_shorten_refused(tmp_path):
    p = tmp_path / "s.wv1"
    write_sphere(p, np.zeros(10, dtype=np.int16), 16000, coding="pcm,embedded-shorten-v1.1")
    with pytest.raises(BnnError) as e:
        wsj.read_sphere(str(p))
    assert "sph2pipe" in str(e.value) and str(p) in str(e.value) and "\n" not in str(e.value)


def test_normalize_transcript():
    assert wsj.normalize_transcript("THE INDEX ROSE [loud_breath] \\.PERIOD") == \
        ["THE", "INDEX", "ROSE", "<NOISE>", ".PERIOD"]
    assert wsj.normalize_transcript("*mispronounced* words of Mr. <Smith> ~") == \
        ["MISPRONOUNCED", "WORDS", "OF", "MR.", "SMITH"]
    assert wsj.normalize_transcript("second speaker [<door_slam] here") == ["SECOND", "SPEAKER", "HERE"]


def test_prepare_wsj_sets(ldc_tree, tmp_path, bnn_env):
    root, wavs, audio = ldc_tree
    out = tmp_path / "data"
    r = subprocess.run(["bnn-prepare-wsj", str(root / "wsj0"), str(root / "wsj1"), str(out)],
                       env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:3] == ["train_si284 4", "test_dev93 1", "test_eval92 1"]
    assert "no prompt for utterance 4k0c0302" in r.stderr
    text = dict(ln.split(None, 1) for ln in (out / "train_si284/text").read_text().splitlines())
    assert text == {"01aa0101": "THE INDEX ROSE <NOISE> .PERIOD",
                    "01aa0102": "MISPRONOUNCED WORDS OF MR. SMITH",
                    "01ba0101": "SECOND SPEAKER HERE", "4aaa0201": "A WSJ1 TRAINING SENTENCE"}
    assert (out / "train_si284/utt2spk").read_text().split("\n")[:4] == \
        ["01aa0101 01a", "01aa0102 01a", "01ba0101 01b", "4aaa0201 4aa"]
    assert (out / "test_eval92/text").read_text() == "440c0201 EVAL NINETY TWO\n"
    # wav.scp entries are pipes; read through them (as Kaldi does) they give the AN4 samples
    wav = dict(ln.split(None, 1) for ln in (out / "train_si284/wav.scp").read_text().splitlines())
    assert wav["01aa0102"].endswith("01aa0102.wv1 |")
    old = os.environ.get("PATH")
    os.environ["PATH"] = bnn_env["PATH"]
    try:
        rate, x = kaldiio.load_mat(wav["01aa0102"])
    finally:
        os.environ["PATH"] = old
    assert rate == 16000
    np.testing.assert_array_equal(x, audio[1][1])


def test_prepare_wsj_errors(ldc_tree, tmp_path):
    root, _, _ = ldc_tree
    with pytest.raises(BnnError) as e:
        wsj.prepare_wsj([str(tmp_path / "nothing")], str(tmp_path / "d"))
    assert "does not exist" in str(e.value)
    with pytest.raises(BnnError) as e:  # WSJ1 missing: its index cannot be found
        wsj.prepare_wsj([str(root / "wsj0")], str(tmp_path / "d"), ["test_dev93"])
    assert "h1_p0.ndx" in str(e.value)
