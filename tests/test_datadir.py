"""Kaldi data directories: bnn.kaldi.datadir and the utils/*.sh / *.pl tools built on it."""
import os
import shutil
import subprocess

import pytest

from bnn.kaldi import datadir as dd
from bnn.utils.errors import BnnError

YESNO = "fixtures/kaldi_yesno_s5/data/train_yesno"
SPEAKERS = {"a": 3, "b": 2, "c": 4, "d": 1}  # speaker -> number of utterances


def make_dir(path, segments=False):
    """A small valid data dir: utterances <spk>-<n>, wav.scp with plain, piped and offset entries."""
    utt2spk, text, wav, segs = {}, {}, {}, {}
    for spk, n in SPEAKERS.items():
        for i in range(1, n + 1):
            utt = f"{spk}-{i}"
            utt2spk[utt] = spk
            text[utt] = f"WORD{i} WORD"
            if segments:
                segs[utt] = (f"rec-{spk}", 1.5 * (i - 1), 1.5 * i)
                wav[f"rec-{spk}"] = f"sox /corpus/{spk}.flac -t wav - |"
            else:
                wav[utt] = [f"/corpus/{utt}.wav", f"gunzip -c /c/{utt}.wav.gz |", f"/c/a.ark:{i * 100}"][i % 3]
    dd.write_data_dir(str(path), utt2spk=utt2spk, text=text, wav_scp=wav,
                      segments=segs if segments else None,
                      utt2dur={u: 1.5 for u in utt2spk},
                      spk2gender={s: "mf"[i % 2] for i, s in enumerate(SPEAKERS)},
                      extra={"feats.scp": {u: f"data/raw_fbank.ark:{10 * k}" for k, u in enumerate(utt2spk)},
                             "cmvn.scp": {s: f"data/cmvn.ark:{k}" for k, s in enumerate(SPEAKERS)}})
    return str(path)


def sh(repo_root, tool, *args, **kw):
    return subprocess.run([str(repo_root / "utils" / tool), *map(str, args)], capture_output=True, text=True,
                          timeout=60, **kw)


def test_read_real_kaldi_data_dir(shared_dir):
    d = dd.DataDir(str(shared_dir / YESNO))
    assert len(d.utts()) == 30 and d.speakers() == ["global"]
    assert d.text["0_0_0_1_0_0_0_1"] == "NO NO NO YES NO NO NO YES"
    assert d.utt2dur()["0_0_0_0_1_1_1_1"] == pytest.approx(6.35)
    assert d.spk2utt()["global"] == d.utts()
    entry = d.wav_entries()["0_0_0_0_1_1_1_1"]
    assert entry == dd.RxFilename("file", "../../corpora/yesno/waves_yesno/0_0_0_0_1_1_1_1.wav")
    assert d.feats_scp["0_0_0_1_0_0_0_1"] == "mfcc/raw_mfcc_train_yesno.1.ark:8386"
    assert dd.validate_data_dir(str(shared_dir / YESNO)) == {"utts": 30, "speakers": 1}


def test_validate_script_on_real_dir(shared_dir, repo_root):
    r = sh(repo_root, "validate_data_dir.sh", shared_dir / YESNO)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"Successfully validated data-directory {shared_dir / YESNO}"


def test_split_matches_kaldi_split1(shared_dir, repo_root, tmp_path):
    data = tmp_path / "train_yesno"
    shutil.copytree(shared_dir / YESNO, data, ignore=shutil.ignore_patterns("split1"))
    r = sh(repo_root, "split_data.sh", data, 1)
    assert r.returncode == 0, r.stderr
    kaldi = shared_dir / YESNO / "split1/1"
    assert sorted(os.listdir(data / "split1/1")) == sorted(os.listdir(kaldi))
    for name in os.listdir(kaldi):  # byte-identical to Kaldi's split_data.sh output
        assert (data / "split1/1" / name).read_bytes() == (kaldi / name).read_bytes(), name


def test_wav_scp_rxfilenames_and_audio(shared_dir, monkeypatch):
    assert dd.parse_rxfilename("sox a.flac -t wav - |") == dd.RxFilename("pipe", "sox a.flac -t wav -")
    assert dd.parse_rxfilename("/data/x.ark:1234") == dd.RxFilename("offset", "/data/x.ark", 1234)
    assert dd.parse_rxfilename("C:x.wav") == dd.RxFilename("file", "C:x.wav")
    assert dd.parse_rxfilename("-") == dd.RxFilename("stdin", "-")
    monkeypatch.chdir(shared_dir / "fixtures/kaldi_yesno_s5")
    path = "../../corpora/yesno/waves_yesno/0_0_0_0_1_1_1_1.wav"
    rate, x = dd.load_wav(path)
    rate2, y = dd.load_wav(f"cat {path} |")
    assert rate == rate2 == 8000 and x.shape == (50800,) and (x == y).all()
    with pytest.raises(BnnError, match="cannot read audio"):
        dd.load_wav("no/such.wav")


def test_valid_synthetic_dirs(tmp_path):
    assert dd.validate_data_dir(make_dir(tmp_path / "a")) == {"utts": 10, "speakers": 4}
    assert dd.validate_data_dir(make_dir(tmp_path / "b", segments=True)) == {"utts": 10, "speakers": 4}
    assert (tmp_path / "a/spk2utt").read_text().splitlines()[0] == "a a-1 a-2 a-3"
    assert (tmp_path / "b/segments").read_text().splitlines()[1] == "a-2 rec-a 1.5 3"


def edit(path, fn):
    lines = open(path).read().splitlines()
    open(path, "w").write("".join(line + "\n" for line in fn(lines)))


@pytest.mark.parametrize("case,message", [
    ("unsorted", r"/text: line 3: keys are not sorted: 'a-2' after 'a-3'"),
    ("missing_wav", r"/text: line 2: utterance 'a-2' is missing from .*/wav.scp"),
    ("speaker_mismatch", r"/spk2utt: line 2: speaker mismatch for utterance 'b-1': 'b' in spk2utt, 'a' in"),
    ("empty_transcript", r"/text: line 4: empty transcript for utterance 'b-1'"),
    ("duplicate", r"/utt2spk: line 3: duplicate key 'a-2' \(first at line 2\)"),
    ("missing_feats", r"/utt2spk: line 10: utterance 'd-1' is missing from .*/feats.scp"),
    ("unknown_speaker_cmvn", r"/cmvn.scp: line 5: speaker 'e' is not in"),
    ("bad_segment", r"/segments: line 1: segment 'a-1' has bad times"),
    ("crlf", r"/text: line 1: carriage return \(CRLF/DOS line ending\)"),
])
def test_malformed_dirs_rejected(tmp_path, repo_root, case, message):
    d = make_dir(tmp_path / "d", segments=(case == "bad_segment"))
    f = lambda name: os.path.join(d, name)  # noqa: E731
    if case == "unsorted":
        edit(f("text"), lambda L: [L[0], L[2], L[1]] + L[3:])
    elif case == "missing_wav":
        edit(f("wav.scp"), lambda L: [x for x in L if not x.startswith("a-2 ")])
    elif case == "speaker_mismatch":  # utt2spk says b-1 belongs to a (still speaker-sorted), spk2utt says b
        edit(f("utt2spk"), lambda L: [x.replace("b-1 b", "b-1 a") for x in L])
    elif case == "empty_transcript":
        edit(f("text"), lambda L: [x if not x.startswith("b-1 ") else "b-1" for x in L])
    elif case == "duplicate":
        edit(f("utt2spk"), lambda L: L[:2] + [L[1]] + L[2:])
    elif case == "missing_feats":
        edit(f("feats.scp"), lambda L: L[:-1])
    elif case == "unknown_speaker_cmvn":
        edit(f("cmvn.scp"), lambda L: L + ["e data/cmvn.ark:99"])
    elif case == "bad_segment":
        edit(f("segments"), lambda L: ["a-1 rec-a 2.0 1.0"] + L[1:])
    elif case == "crlf":  # words would end in \r and become OOVs (issue 12 item 5)
        edit(f("text"), lambda L: [x + "\r" for x in L])
    with pytest.raises(BnnError, match=message):
        dd.validate_data_dir(d)
    r = sh(repo_root, "validate_data_dir.sh", d)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("validate_data_dir.sh: ERROR: ")
    assert "Successfully" not in r.stdout


def test_validate_options_and_speaker_order(tmp_path):
    d = make_dir(tmp_path / "d")
    os.unlink(os.path.join(d, "feats.scp"))
    with pytest.raises(BnnError, match="feats.scp: no such file"):
        dd.validate_data_dir(d)
    dd.validate_data_dir(d, no_feats=True)
    os.unlink(os.path.join(d, "wav.scp"))
    os.unlink(os.path.join(d, "text"))
    dd.validate_data_dir(d, no_feats=True, no_wav=True, no_text=True)
    # speaker ids that are not prefixes of utterance ids: utt2spk unsorted by speaker
    e = tmp_path / "e"
    dd.write_data_dir(str(e), utt2spk={"u1": "s2", "u2": "s1"}, text={"u1": "A", "u2": "B"})
    with pytest.raises(BnnError, match="utt2spk: line 1: utt2spk is not sorted when ordered by speaker"):
        dd.validate_data_dir(str(e), no_feats=True, no_wav=True)


def test_acceptance_text_line_missing_from_wav(shared_dir, repo_root, tmp_path):
    data = tmp_path / "train"
    shutil.copytree(shared_dir / YESNO, data)
    edit(data / "wav.scp", lambda L: L[:4] + L[5:])
    r = sh(repo_root, "validate_data_dir.sh", data)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"validate_data_dir.sh: ERROR: {data}/text: line 5: utterance '0_0_1_0_0_1_1_0' is missing from "
        f"{data}/wav.scp"]


def test_fix_data_dir_removes_bad_utterances(shared_dir, repo_root, tmp_path):
    data = tmp_path / "train"
    shutil.copytree(shared_dir / YESNO, data)
    utts = list(dd.read_table(str(data / "utt2spk")))
    assert utts[4] == "0_0_1_0_0_1_1_0" and utts[7] == "0_0_1_0_1_0_0_1"
    edit(data / "wav.scp", lambda L: L[:4] + L[5:])                       # no audio for utt 5
    edit(data / "text", lambda L: [L[7].split()[0]] + L[:7] + L[8:])      # utt 8: empty, misplaced
    r = sh(repo_root, "fix_data_dir.sh", data)
    assert r.returncode == 0, r.stderr
    assert "kept 28 utterances out of 30 (2 removed)" in r.stderr
    assert (data / ".backup/wav.scp").read_text().count("\n") == 29
    u2s = dd.read_table(str(data / "utt2spk"))
    assert len(u2s) == 28 and list(u2s) == utts[:4] + utts[5:7] + utts[8:]
    assert (data / "spk2utt").read_text() == "global " + " ".join(u2s) + "\n"
    assert (data / "cmvn.scp").read_bytes() == (shared_dir / YESNO / "cmvn.scp").read_bytes()
    assert sh(repo_root, "validate_data_dir.sh", data).returncode == 0


def test_fix_data_dir_sorts_and_drops_duplicates(tmp_path):
    d = make_dir(tmp_path / "d")
    edit(os.path.join(d, "feats.scp"), lambda L: list(reversed(L)) + [L[0]])
    edit(os.path.join(d, "cmvn.scp"), lambda L: L + ["zz data/cmvn.ark:1"])
    assert dd.fix_data_dir(d) == {"kept": 10, "total": 10, "removed": 0}
    assert "zz" not in dd.read_table(os.path.join(d, "cmvn.scp"))
    dd.validate_data_dir(d)


def test_split_per_speaker_and_per_utterance(tmp_path, repo_root):
    d = make_dir(tmp_path / "d", segments=True)
    r = sh(repo_root, "split_data.sh", d, 3)
    assert r.returncode == 0, r.stderr
    parts = [dd.DataDir(os.path.join(d, "split3", str(n))) for n in (1, 2, 3)]
    # speakers whole and contiguous; boundaries nearest to 10/3 and 20/3 utterances: 3 | 2 | 4+1
    assert [p.speakers() for p in parts] == [["a"], ["b"], ["c", "d"]]
    assert sum((p.utts() for p in parts), []) == dd.DataDir(d).utts()
    for p in parts:
        dd.validate_data_dir(p.path)  # segments, wav.scp (recordings), cmvn, spk2gender consistent
        assert set(p.wav_scp) == {f"rec-{s}" for s in p.speakers()}
        assert set(p.cmvn_scp) == set(p.speakers())
    r = sh(repo_root, "split_data.sh", "--per-utt", d, 3)
    assert r.returncode == 0, r.stderr
    sizes = [len(dd.DataDir(os.path.join(d, "split3utt", str(n))).utts()) for n in (1, 2, 3)]
    assert sizes == [4, 3, 3]
    part2 = dd.DataDir(os.path.join(d, "split3utt", "2"))
    assert part2.utts() == ["b-2", "c-1", "c-2"] and part2.spk2utt() == {"b": ["b-2"], "c": ["c-1", "c-2"]}
    dd.validate_data_dir(part2.path)
    r = sh(repo_root, "split_data.sh", d, 5)
    assert r.returncode == 1 and "cannot split 4 speaker(s) into 5 parts" in r.stderr


def test_split_speakers_balances_utterances():
    assert dd.split_speakers([3, 2, 4, 1], 3) == [1, 1, 2]  # 3|2|5 (not 3|6|1)
    assert dd.split_speakers([5, 5, 5, 5], 2) == [2, 2]
    assert dd.split_speakers([1, 1, 1, 10], 4) == [1, 1, 1, 1]
    assert dd.split_counts(10, 3) == [4, 3, 3]


def test_subset_and_copy(tmp_path, repo_root):
    d = make_dir(tmp_path / "d")
    r = sh(repo_root, "subset_data_dir.sh", "--per-spk", d, 2, tmp_path / "s")
    assert r.returncode == 0, r.stderr
    # per speaker: a(3) -> a-1 a-2; b(2) -> both; c(4) -> skip 2: c-1 c-3; d(1) -> d-1
    assert dd.DataDir(str(tmp_path / "s")).utts() == ["a-1", "a-2", "b-1", "b-2", "c-1", "c-3", "d-1"]
    (tmp_path / "spk.list").write_text("b\nd\n")
    assert sh(repo_root, "subset_data_dir.sh", "--spk-list", tmp_path / "spk.list", d, tmp_path / "t").returncode == 0
    t = dd.DataDir(str(tmp_path / "t"))
    assert t.utts() == ["b-1", "b-2", "d-1"] and list(t.cmvn_scp) == ["b", "d"]
    assert sh(repo_root, "subset_data_dir.sh", "--last", d, 2, tmp_path / "l").returncode == 0
    assert dd.DataDir(str(tmp_path / "l")).utts() == ["c-4", "d-1"]
    assert dd.evenly_spaced(list("abcdefghij"), 3) == ["a", "d", "g"]
    r = sh(repo_root, "copy_data_dir.sh", "--utt-prefix", "x-", "--spk-prefix", "x-", d, tmp_path / "c")
    assert r.returncode == 0, r.stderr
    c = dd.DataDir(str(tmp_path / "c"))
    assert c.utts()[:2] == ["x-a-1", "x-a-2"] and c.utt2spk["x-a-1"] == "x-a"
    assert list(c.cmvn_scp)[0] == "x-a" and c.wav_scp["x-a-1"] == dd.DataDir(d).wav_scp["a-1"]


def test_table_tools(tmp_path, repo_root):
    u2s = tmp_path / "utt2spk"
    u2s.write_text("a-1 a\na-2 a\nb-1 b\n")
    r = sh(repo_root, "utt2spk_to_spk2utt.pl", u2s)
    assert r.stdout == "a a-1 a-2\nb b-1\n"
    (tmp_path / "spk2utt").write_text(r.stdout)
    assert sh(repo_root, "spk2utt_to_utt2spk.pl", tmp_path / "spk2utt").stdout == u2s.read_text()
    (tmp_path / "ids").write_text("a-2\nb-1 x\n")
    assert sh(repo_root, "filter_scp.pl", tmp_path / "ids", u2s).stdout == "a-2 a\nb-1 b\n"
    assert sh(repo_root, "filter_scp.pl", "--exclude", tmp_path / "ids", u2s).stdout == "a-1 a\n"
    (tmp_path / "spk").write_text("b\n")
    assert sh(repo_root, "filter_scp.pl", "-f", 2, tmp_path / "spk", u2s).stdout == "b-1 b\n"
    words = tmp_path / "words.txt"
    words.write_text("<eps> 0\nNO 1\nYES 2\n<UNK> 3\n")
    (tmp_path / "text").write_text("u1 NO  YES\nu2 MAYBE\n")
    r = sh(repo_root, "sym2int.pl", "--map-oov", "<UNK>", "-f", "2-", words, tmp_path / "text")
    assert r.returncode == 0 and r.stdout == "u1 1 2\nu2 3\n"
    r = sh(repo_root, "sym2int.pl", "-f", "2-", words, tmp_path / "text")
    assert r.returncode == 1 and "undefined symbol 'MAYBE'" in r.stderr
    r = sh(repo_root, "int2sym.pl", "-f", "2-", words, input="u1 1 2\nu2 3\n")
    assert r.stdout == "u1 NO YES\nu2 <UNK>\n"


# ------------------------------------------------- paths written by import_data_dir (issue 12 item 3)
@pytest.mark.parametrize("layout", ["directory", "symlink"])
def test_import_keeps_the_kaldi_dir_path_as_given(shared_dir, tmp_path, layout):
    """The rule: scp paths are made absolute against the Kaldi dir *as given* (os.path.abspath,
    symlinks not resolved), as Kaldi users expect of symlinked corpora and Kaldi dirs.  Checked
    with the dir given directly and through a symlink (../shared is often one)."""
    import kaldiio
    import numpy as np

    from bnn.kaldi import dropin
    real = (shared_dir / "fixtures/kaldi_yesno_s5").resolve()
    if layout == "symlink":
        given = tmp_path / "linked_s5"
        given.symlink_to(real, target_is_directory=True)
    else:
        given = real
    n = dropin.import_data_dir(str(given), "data/test_yesno", str(tmp_path / "d"))
    assert n == 30
    feats = dict(line.split(None, 1) for line in (tmp_path / "d/feats.scp").read_text().splitlines())
    assert feats and all(v.startswith(f"{given}/mfcc/") for v in feats.values()), feats
    ref = kaldiio.load_scp(str(real / "data/test_yesno/feats.scp"))  # absolute? read from real dir
    cwd = os.getcwd()
    try:
        os.chdir(real)  # Kaldi's relative paths resolve against the s5 dir
        ref = {k: ref[k] for k in list(feats)[:2]}
    finally:
        os.chdir(cwd)
    ours = kaldiio.load_scp(str(tmp_path / "d/feats.scp"))
    for k, mat in ref.items():
        np.testing.assert_array_equal(ours[k], mat)


def test_import_refuses_the_kaldi_dir_reached_through_a_symlink(shared_dir, tmp_path):
    """The Kaldi dir given through a symlink, the output inside its real path: still refused."""
    from bnn.kaldi import dropin
    real = tmp_path / "s5"
    shutil.copytree(shared_dir / "fixtures/kaldi_yesno_s5/data/test_yesno", real / "data/test_yesno")
    shutil.copytree(shared_dir / "fixtures/kaldi_yesno_s5/mfcc", real / "mfcc")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with pytest.raises(BnnError, match="refusing to write inside the Kaldi dir"):
        dropin.import_data_dir(str(link), "data/test_yesno", str(real / "data/imported"))
    assert not (real / "data/imported").exists()
