"""Corpus preparation: yesno against the real Kaldi data dirs, the FSDD connected-digit corpus
(determinism, splits, audio layout, levels, idempotence), download fallback and statistics."""
import collections
import gzip
import io
import os
import subprocess
import tarfile
import wave

import numpy as np
import pytest

from bnn.corpora import download, fsdd, stats, yesno
from bnn.utils.errors import BnnError

SMALL = {"train": 12, "dev": 6, "test": 6}


def _read(path):
    with open(path) as f:
        return f.read()


def _table(path):
    with open(path) as f:
        return dict(line.rstrip("\n").split(maxsplit=1) for line in f)


# --------------------------------------------------------------------------------------- yesno
@pytest.fixture(scope="module")
def yesno_data(shared_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("yesno") / "data"
    corpus = shared_dir / "corpora" / "yesno" / "waves_yesno"
    dirs = yesno.prepare_yesno(str(corpus), str(out))
    return out, dirs, shared_dir / "fixtures" / "kaldi_yesno_s5"


@pytest.mark.parametrize("name", ["train_yesno", "test_yesno"])
def test_yesno_matches_kaldi_data_dirs(yesno_data, name):
    out, dirs, kaldi = yesno_data
    assert dirs[name] == str(out / name)
    for f in ("text", "utt2spk", "spk2utt"):
        assert _read(out / name / f) == _read(kaldi / "data" / name / f), f
    ours, theirs = _table(out / name / "wav.scp"), _table(kaldi / "data" / name / "wav.scp")
    assert list(ours) == list(theirs) and len(ours) == 30
    for utt, path in ours.items():  # same files, only the directory differs
        assert os.path.isabs(path) and os.path.isfile(path)
        assert os.path.basename(path) == os.path.basename(theirs[utt])


def test_yesno_split_and_transcripts():
    names = [f"{i}.wav" for i in range(7)]
    assert yesno.split_waves(names) == (names[:3], names[3:])
    assert yesno.transcript("0_1_1_0") == ["NO", "YES", "YES", "NO"]


def test_yesno_dict_matches_kaldi_lang(yesno_data, tmp_path):
    _, _, kaldi = yesno_data
    yesno.write_yesno_dict(str(tmp_path))
    lex = [line.split() for line in _read(tmp_path / "lexicon.txt").splitlines()]
    # Kaldi's align_lexicon.txt: "<word> <word> <phones>", plus the <eps> entry prepare_lang adds.
    align = [line.split() for line in _read(kaldi / "data/lang/phones/align_lexicon.txt").splitlines()]
    assert sorted([w] + p for w, *p in lex) == sorted(a[1:] for a in align if a[0] != "<eps>")
    assert _read(tmp_path / "silence_phones.txt") == "SIL\n"
    assert _read(tmp_path / "optional_silence.txt") == "SIL\n"
    # prepare_lang numbers phones silence first, then nonsilence in file order: SIL=1 Y=2 N=3.
    phones = [line.split()[0] for line in _read(kaldi / "data/lang/phones.txt").splitlines()]
    assert phones[1:4] == ["SIL"] + _read(tmp_path / "nonsilence_phones.txt").split()
    assert _read(tmp_path / "lexicon_words.txt") == "NO N\nYES Y\n"


def test_yesno_stats_agree_with_kaldi_utt2dur(yesno_data):
    out, _, kaldi = yesno_data
    st = stats.data_dir_stats(str(out / "train_yesno"))
    assert (st.utterances, st.speakers, st.words) == (30, 1, 240)
    kaldi_sec = sum(float(v) for v in _table(kaldi / "data/train_yesno/utt2dur").values())
    assert abs(st.seconds - kaldi_sec) < 30 * 0.01  # Kaldi prints 2 decimals
    table = stats.format_stats([st, stats.data_dir_stats(str(out / "test_yesno"))])
    lines = table.splitlines()
    assert lines[0].split() == ["set", "utterances", "speakers", "words", "hours"]
    assert lines[-1].split()[:4] == ["total", "60", "1", "480"]


# ---------------------------------------------------------------------------------------- fsdd
@pytest.fixture(scope="module")
def fsdd_recs(shared_dir):
    return fsdd.scan_recordings(str(shared_dir / "corpora" / "fsdd" / "recordings"))


@pytest.fixture(scope="module")
def fsdd_small(fsdd_recs, shared_dir, tmp_path_factory):
    """Two independent builds of a small corpus with the same seed."""
    rec_dir = str(shared_dir / "corpora" / "fsdd" / "recordings")
    builds = []
    for run in ("a", "b"):
        root = tmp_path_factory.mktemp(f"fsdd_{run}")
        fsdd.prepare_fsdd(rec_dir, str(root / "data"), str(root / "corpus"), num_utts=SMALL,
                          opts=fsdd.FsddOptions(seed=5))
        builds.append(root)
    return builds


def test_fsdd_deterministic_given_seed(fsdd_small):
    a, b = fsdd_small
    for s in fsdd.SETS:
        ta, tb = _table(a / "data" / s / "text"), _table(b / "data" / s / "text")
        assert list(ta) == list(tb) and ta == tb and len(ta) == SMALL[s]
        wa, wb = _table(a / "data" / s / "wav.scp"), _table(b / "data" / s / "wav.scp")
        for utt in wa:
            with open(wa[utt], "rb") as fa, open(wb[utt], "rb") as fb:
                assert fa.read() == fb.read(), utt


def test_fsdd_seed_changes_corpus(fsdd_recs):
    p1 = fsdd.plan_set(fsdd_recs, "train", 40, seed=1)
    p2 = fsdd.plan_set(fsdd_recs, "train", 40, seed=2)
    assert [u.utt_id for u in p1] == [u.utt_id for u in p2]
    assert [u.words for u in p1] != [u.words for u in p2]


def test_fsdd_full_plan_splits_and_coverage(fsdd_recs):
    plans = {s: fsdd.plan_set(fsdd_recs, s, fsdd.SETS[s][2], seed=777) for s in fsdd.SETS}
    assert {s: len(p) for s, p in plans.items()} == {"train": 1000, "dev": 150, "test": 400}
    spk = {s: {u.speaker for u in p} for s, p in plans.items()}
    assert spk["train"] == spk["dev"] == {"george", "jackson", "lucas", "nicolas"}
    assert spk["test"] == {"theo", "yweweler"}
    ids = [u.utt_id for p in plans.values() for u in p]
    assert len(ids) == len(set(ids))
    for s, p in plans.items():
        assert [u.utt_id for u in p] == sorted(u.utt_id for u in p)
        for u in p:
            assert 1 <= len(u.pieces) <= 7 and len(u.gaps) == len(u.pieces) - 1
            assert u.utt_id.startswith(u.speaker + "-")
            assert all(r.speaker == u.speaker for r in u.pieces)
            assert all(400 <= g <= 2400 for g in u.gaps) and 800 <= u.lead <= 2000
            takes = {r.take for r in u.pieces}
            if s == "train":
                assert max(takes) <= 44
            elif s == "dev":
                assert min(takes) >= 45
    used = {r.name for u in plans["train"] for r in u.pieces}
    train_recs = {r.name for r in fsdd_recs if r.speaker in spk["train"] and r.take <= 44}
    assert len(train_recs) == 1800 and used == train_recs


def test_fsdd_wavs_format_and_layout(fsdd_small, fsdd_recs):
    root = fsdd_small[0]
    lengths = {r.name: len(fsdd.read_wav(r.path)) for r in fsdd_recs
               if r.speaker in ("george", "theo")}
    for s in fsdd.SETS:
        layout = fsdd.read_layout(str(root / "corpus" / s / "layout.txt"))
        wav_scp = _table(root / "data" / s / "wav.scp")
        utt2dur = _table(root / "data" / s / "utt2dur")
        text = _table(root / "data" / s / "text")
        assert set(layout) == set(wav_scp)
        for utt, path in wav_scp.items():
            with wave.open(path) as w:
                assert (w.getframerate(), w.getsampwidth(), w.getnchannels(),
                        w.getcomptype()) == (8000, 2, 1, "NONE")
                n = w.getnframes()
            total, items = layout[utt]
            assert n == total == sum(k for _, k in items)
            assert abs(float(utt2dur[utt]) - n / 8000) < 1e-5
            pieces = [(name, k) for name, k in items if name not in ("lead", "gap", "trail")]
            assert [fsdd.DIGIT_WORDS[int(name[0])] for name, _ in pieces] == text[utt].split()
            for name, k in pieces:  # every piece is a whole recording
                if name in lengths:
                    assert k == lengths[name]
            assert [name for name, _ in items][0] == "lead" and items[-1][0] == "trail"


def _piece_levels(root, set_name):
    """dBFS RMS of every piece and of every gap/edge, per speaker, from the written wavs."""
    layout = fsdd.read_layout(str(root / "corpus" / set_name / "layout.txt"))
    speech, noise = collections.defaultdict(list), []
    for utt, (_, items) in layout.items():
        x = fsdd.read_wav(str(root / "corpus" / set_name / f"{utt}.wav")).astype(float)
        pos = 0
        for name, k in items:
            rms = np.sqrt(np.mean(x[pos:pos + k] ** 2))
            pos += k
            if name in ("lead", "gap", "trail"):
                noise.append(rms)
            else:
                speech[utt.split("-")[0]].append(20 * np.log10(rms / 32768))
    return speech, 20 * np.log10(np.mean(noise) / 32768)


def test_fsdd_levels_normalised(fsdd_small, fsdd_recs):
    root = fsdd_small[0]
    train, _ = _piece_levels(root, "train")
    test, noise_db = _piece_levels(root, "test")

    def raw_db(spk):
        vals = []
        for r in [r for r in fsdd_recs if r.speaker == spk][:40]:
            x = fsdd.read_wav(r.path).astype(float)
            vals.append(20 * np.log10(np.sqrt(np.mean((x - x.mean()) ** 2)) / 32768))
        return np.median(vals)

    assert raw_db("george") - raw_db("theo") > 10  # the problem being fixed
    george, theo = np.mean(train["george"]), np.mean(test["theo"])
    assert abs(george - theo) < 1.0
    assert abs(george - (-26.0)) < 1.0
    assert george - noise_db > 35  # gaps are low-level noise, not speech-like


def test_fsdd_idempotent(fsdd_recs, shared_dir, tmp_path):
    rec_dir = str(shared_dir / "corpora" / "fsdd" / "recordings")
    args = (rec_dir, str(tmp_path / "data"), str(tmp_path / "corpus"), ["dev"], {"dev": 4})
    fsdd.prepare_fsdd(*args)
    wav = tmp_path / "corpus" / "dev" / "george-10000.wav"
    before = (wav.stat().st_mtime_ns, wav.read_bytes())
    fsdd.prepare_fsdd(*args)
    assert (wav.stat().st_mtime_ns, wav.read_bytes()) == before
    fsdd.prepare_fsdd(*args[:4], {"dev": 4}, fsdd.FsddOptions(seed=778))
    assert wav.read_bytes() != before[1]
    assert len(_table(tmp_path / "data" / "dev" / "wav.scp")) == 4


def test_fsdd_dict(tmp_path):
    fsdd.write_fsdd_dict(str(tmp_path))
    lex = dict(line.split(maxsplit=1) for line in _read(tmp_path / "lexicon.txt").splitlines())
    assert lex["ONE"] == "W AH N" and lex["ZERO"] == "Z IH R OW" and lex["SIX"] == "S IH K S"
    assert set(lex) == set(fsdd.DIGIT_WORDS) | {"<SIL>", "<UNK>"}
    assert _read(tmp_path / "silence_phones.txt").split() == ["SIL", "SPN"]
    assert _read(tmp_path / "optional_silence.txt") == "SIL\n"
    nonsil = _read(tmp_path / "nonsilence_phones.txt").split()
    assert nonsil == sorted({p for w in fsdd.DIGIT_WORDS for p in lex[w].split()})
    assert len(nonsil) == 19 and "SIL" not in nonsil
    assert not any(c.isdigit() for p in nonsil for c in p)  # no stress markers


# ------------------------------------------------------------------------------------ download
def test_missing_corpus_without_download_errors_clearly(tmp_path):
    with pytest.raises(BnnError) as err:
        fsdd.find_fsdd(str(tmp_path / "nope"), str(tmp_path / "dl"), download=False)
    msg = str(err.value)
    assert "\n" not in msg and "--corpus-dir" in msg and str(tmp_path / "nope") in msg
    with pytest.raises(BnnError, match="--corpus-dir"):
        yesno.find_yesno(str(tmp_path / "nope"), str(tmp_path / "dl"), download=False)


def test_unreachable_download_names_option(tmp_path):
    with pytest.raises(BnnError) as err:
        download.ensure_corpus(str(tmp_path / "nope"), name="yesno",
                               url=(tmp_path / "absent.tar.gz").as_uri(),
                               download_dir=str(tmp_path / "dl"), extracted_subdir="waves_yesno",
                               is_complete=yesno.is_complete)
    assert "download failed" in str(err.value) and "--corpus-dir" in str(err.value)


def _make_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_download_fetches_verifies_and_extracts(shared_dir, tmp_path):
    corpus = shared_dir / "corpora" / "yesno" / "waves_yesno"
    members = {f"waves_yesno/{n}": (corpus / n).read_bytes() for n in yesno.list_waves(str(corpus))}
    archive = tmp_path / "waves_yesno.tar.gz"
    _make_tar(archive, members)
    sha = download.sha256sum(str(archive))
    kwargs = dict(name="yesno", url=archive.as_uri(), download_dir=str(tmp_path / "dl"),
                  extracted_subdir="waves_yesno", is_complete=yesno.is_complete)
    with pytest.raises(BnnError, match="checksum mismatch"):
        download.ensure_corpus(str(tmp_path / "nope"), sha256="0" * 64, **kwargs)
    got = download.ensure_corpus(str(tmp_path / "nope"), sha256=sha, **kwargs)
    assert got == str(tmp_path / "dl" / "waves_yesno") and yesno.is_complete(got)
    archive.unlink()  # a rerun finds the extracted corpus and needs no archive
    assert download.ensure_corpus(str(tmp_path / "nope"), **kwargs) == got


def test_download_rejects_unsafe_archive(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    _make_tar(archive, {"../escape.txt": b"x"})
    with pytest.raises(BnnError, match="unsafe archive member"):
        download.extract_tar(str(archive), str(tmp_path / "out"))
    assert not (tmp_path / "escape.txt").exists()
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(gzip.compress(b"not a tar"))
    with pytest.raises(BnnError, match="not a readable tar"):
        download.extract_tar(str(bad), str(tmp_path / "out"))


# ----------------------------------------------------------------------------- shell + commands
def test_fsdd_recipe_scripts(shared_dir, repo_root, bnn_env, tmp_path):
    recipe = repo_root / "egs" / "fsdd"
    rec_dir = shared_dir / "corpora" / "fsdd" / "recordings"
    cmd = [str(recipe / "local" / "prepare_data.sh"), "--corpus-dir", str(rec_dir),
           "--wav-dir", str(tmp_path / "corpus"), "--num-utts-train", "4",
           "--num-utts-dev", "4", "--num-utts-test", "2", str(tmp_path / "data")]
    res = subprocess.run(cmd, cwd=recipe, env=bnn_env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    rows = {f[0]: f[1:] for f in (line.split() for line in res.stdout.splitlines()) if f}
    assert rows["set"] == ["utterances", "speakers", "words", "hours"]
    assert rows["train"][:2] == ["4", "4"] and rows["test"][:2] == ["2", "2"]
    assert rows["total"][:2] == ["10", "6"]
    res = subprocess.run([str(recipe / "local" / "prepare_dict.sh"), str(tmp_path / "dict")],
                         cwd=recipe, env=bnn_env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "dict" / "lexicon.txt").is_file()
    res = subprocess.run([str(recipe / "local" / "prepare_data.sh")], cwd=recipe, env=bnn_env,
                         capture_output=True, text=True)
    assert res.returncode == 2 and "e.g.:" in res.stderr
    res = subprocess.run(cmd[:1] + ["--corpus-dir", str(tmp_path / "none"), "--download", "false",
                                    str(tmp_path / "d2")],
                         cwd=recipe, env=bnn_env, capture_output=True, text=True)
    assert res.returncode == 1
    errors = [line for line in res.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "--corpus-dir" in errors[0]
    validate = repo_root / "utils" / "validate_data_dir.sh"
    if validate.is_file():
        for s in ("train", "dev", "test"):
            res = subprocess.run([str(validate), "--no-feats", str(tmp_path / "data" / s)],
                                 cwd=recipe, env=bnn_env, capture_output=True, text=True)
            assert res.returncode == 0, res.stdout + res.stderr
