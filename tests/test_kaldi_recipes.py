"""egs/wsj, egs/ami and egs/swbd on top of a Kaldi experiment (issue 13), on stand-ins laid out
exactly like Kaldi's wsj/s5, ami/s5b and swbd/s5c after their GMM stages and filled with the real
Kaldi files of ../shared/fixtures/kaldi_an4_s5 (tests/kaldi_standins.py).

* each recipe's --kaldi-dir path runs end to end with tiny nets to RESULTS.md: features computed
  by the toolkit from wav.scp pipes (40-dim fbank + deltas for WSJ/AMI, 36-dim + delta +
  delta-delta for SWBD), trained on the tri2b alignments (336 senones), decoded with the graph,
  Kaldi's own GMM %WER line as the reference row; the fixture is unchanged (checksums);
* ``--stage N --stop-stage N`` runs one stage; a finished stage is skipped on rerun;
* a missing piece (no ali.*.gz, a graph whose words.txt differs from the lang's, a model whose pdf
  count differs from the alignments', a wav.scp pipe whose tool is missing) stops the recipe at
  the start of the stage with one line naming the file.
"""
import hashlib
import pathlib
import shutil
import subprocess

import kaldiio
import pytest

from bnn.kaldi import dropin
from bnn.utils.errors import BnnError

from kaldi_standins import AMI_LM, make_standin, replace_link_with_copy

TINY = '--overrides "model.hidden_dim=24 model.num_hidden=2 train.epochs=1 train.batch_size=256"'
SYSTEMS = {
    # a float DNN and Lu's binary weights initialised from it (the WSJ/AMI grids' first rows)
    "wsj": f"dnn_float dnn_sigmoid_6x1024 {TINY}\n"
           f"lu_bw_p0 lu_binary_weights_p0 --init-from exp/dnn_float {TINY}\n",
    "ami": f"dnn_float_2048 dnn_sigmoid_6x2048 {TINY}\n",
    "swbd": f"qian_bdnn qian_bdnn {TINY}\n",
}
# Kaldi-dir set names -> ours, and the decode dirs expected per recipe
SETS = {"wsj": ("train_si284", ["test_dev93", "test_eval92"]),
        "ami": ("ihm_train", ["ihm_dev", "ihm_eval"]),
        "swbd": ("train_nodup", ["train_dev", "eval2000_swbd", "eval2000_callhm", "rt03_swbd",
                                 "rt03_fsh"])}
FEATS = {"wsj": ("fbank_40", 40, 1), "ami": ("fbank_40", 40, 1), "swbd": ("fbank_36", 36, 2)}
DECODE = "--beam 7 --lattice-beam 3 --max-active 300 --min-lmwt 9 --max-lmwt 11 --word-ins-penalty 0.0"
KALDI_TRI2B = "%WER 8.41 [ 65 / 773, 7 ins, 4 del, 54 sub ]"


def checksums(root: pathlib.Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def recipe_dir(repo: pathlib.Path, corpus: str, where: pathlib.Path) -> pathlib.Path:
    """A scratch copy of egs/<corpus> (run.sh, cmd.sh; steps, utils, conf, local linked)."""
    rec = where / corpus
    rec.mkdir(parents=True)
    src = repo / "egs" / corpus
    for name in ("steps", "utils", "conf", "local"):
        (rec / name).symlink_to(src / name)
    for name in ("run.sh", "cmd.sh"):
        shutil.copy(src / name, rec / name)
    (rec / "path.sh").write_text(f'export BNN_ROOT="{repo}"\n. "$BNN_ROOT/utils/bnn_env.sh"\n')
    (rec / "systems_ci.txt").write_text(SYSTEMS[corpus])
    if corpus == "swbd":  # the stand-in's audio is AN4's 16 kHz: Qian's 36 bins at 16 kHz
        conf = (repo / "conf/fbank_36.conf").read_text().replace("--sample-frequency=8000",
                                                                 "--sample-frequency=16000")
        (rec / "fbank_36.conf").write_text(conf)
    return rec


def run(rec: pathlib.Path, s5: pathlib.Path, env: dict, *args, timeout=300):
    extra = ["--fbank-config", str(rec / "fbank_36.conf")] if (rec / "fbank_36.conf").exists() else []
    cmd = ["bash", "run.sh", "--kaldi-dir", str(s5), "--systems", "systems_ci.txt", "--nj", "1",
           "--decode-opts", DECODE, *extra, *args]
    return subprocess.run(cmd, cwd=rec, env=env, capture_output=True, text=True, timeout=timeout)


def one_error_line(r, *needles):
    assert r.returncode != 0, r.stderr[-2000:]
    errs = [ln for ln in r.stderr.splitlines() if "ERROR" in ln]
    assert len(errs) == 1, r.stderr[-3000:]
    for n in needles:
        assert str(n) in errs[0], (n, errs[0])
    return errs[0]


# ----------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("corpus", ["wsj", "ami", "swbd"])
def test_recipe_kaldi_dir_end_to_end(corpus, shared_dir, repo_root, tmp_path, bnn_env):
    s5 = make_standin(corpus, shared_dir, tmp_path, n_train=40, n_test=4)
    fixture = shared_dir / "fixtures/kaldi_an4_s5"
    before = checksums(fixture)
    rec = recipe_dir(repo_root, corpus, tmp_path / "rec")
    r = run(rec, s5, bnn_env)
    assert r.returncode == 0, r.stderr[-4000:]
    train, eval_sets = SETS[corpus]
    fname, dim, order = FEATS[corpus]
    # features: computed here from the wav.scp pipes, per-speaker CMVN stats beside them
    feats = kaldiio.load_scp(str(rec / f"data/{train}_{fname}/feats.scp"))
    utt, mat = next(iter(feats.items()))
    assert mat.shape[1] == dim
    kaldi = kaldiio.load_scp(str(rec / f"data/{train}/feats.scp"))  # Kaldi's MFCC, imported
    assert mat.shape[0] == kaldi[utt].shape[0]          # frames = Kaldi's = the alignments'
    assert (rec / f"data/{train}_{fname}/cmvn.scp").is_file()
    # every system trained on the 336 tri2b senones with (order+1) x dim x 11 inputs, decoded
    results = (rec / "RESULTS.md").read_text()
    systems = sorted({ln.split()[0] for ln in SYSTEMS[corpus].splitlines()})
    for name in systems:
        assert (rec / f"exp/{name}/num_pdfs").read_text().strip() == "336"
        assert f"--delta-order {order}" in (rec / f"exp/{name}/log/train.log").read_text()
        for x in eval_sets:
            wer, line, _ = dropin.best_wer(str(rec / f"exp/{name}/decode_{x}"))
            assert f"| {name} | {x} | {wer:.2f} |" in results
    # Kaldi's own GMM rows (the fixture's tri2b: 8.41%) for the sets Kaldi decoded
    if corpus != "swbd":
        assert results.count(KALDI_TRI2B) == 2, results
    assert "Kaldi dir:" in results and "fbank" in results
    assert checksums(fixture) == before


# ----------------------------------------------------------------------------- stages
def test_stage_by_stage_and_skip_on_rerun(shared_dir, repo_root, tmp_path, bnn_env):
    s5 = make_standin("wsj", shared_dir, tmp_path, n_train=12, n_test=2)
    rec = recipe_dir(repo_root, "wsj", tmp_path / "rec")
    r = run(rec, s5, bnn_env, "--stage", "0", "--stop-stage", "0")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (rec / "data/train_si284/wav.scp").is_file() and (rec / "data/.kaldi_import.done").is_file()
    assert not (rec / "data/train_si284_fbank_40").exists()          # stage 1 not run
    wav = (rec / "data/test_dev93/wav.scp").read_text().splitlines()[0]
    assert wav.split(None, 1)[1].startswith(f"cd {s5.resolve()} && cat /")
    r = run(rec, s5, bnn_env, "--stage", "0", "--stop-stage", "0")
    assert r.returncode == 0 and "already imported" in r.stderr
    r = run(rec, s5, bnn_env, "--stage", "1", "--stop-stage", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    scp = rec / "data/train_si284_fbank_40/feats.scp"
    mtime = scp.stat().st_mtime_ns
    assert not (rec / "exp/dnn_float").exists()                       # stage 2 not run
    r = run(rec, s5, bnn_env, "--stage", "1", "--stop-stage", "1")
    assert r.returncode == 0 and "features exist; skipping" in r.stderr
    assert scp.stat().st_mtime_ns == mtime


# ----------------------------------------------------------------------------- missing pieces
def test_error_no_alignments(shared_dir, repo_root, tmp_path, bnn_env):
    s5 = make_standin("wsj", shared_dir, tmp_path, n_train=4, n_test=2)
    rec = recipe_dir(repo_root, "wsj", tmp_path / "rec")
    assert run(rec, s5, bnn_env, "--stop-stage", "0").returncode == 0
    for p in (s5 / "exp/tri4b_ali_si284").glob("ali.*.gz"):
        p.unlink()
    # checked at the start of stage 2 (training) when started there ...
    one_error_line(run(rec, s5, bnn_env, "--stage", "2"), s5 / "exp/tri4b_ali_si284", "no ali.N.gz")
    assert not (rec / "exp/dnn_float").exists()
    # ... and up front, at stage 0, on a fresh run: nothing imported
    rec2 = recipe_dir(repo_root, "wsj", tmp_path / "rec2")
    one_error_line(run(rec2, s5, bnn_env), s5 / "exp/tri4b_ali_si284", "no ali.N.gz")
    assert not (rec2 / "data/.kaldi_import.done").exists()


def test_error_graph_words_differ(shared_dir, repo_root, tmp_path, bnn_env):
    s5 = make_standin("ami", shared_dir, tmp_path, n_train=4, n_test=2)
    words = replace_link_with_copy(s5 / f"exp/ihm/tri3/graph_{AMI_LM}/words.txt")
    words.write_text(words.read_text().replace("\nAND ", "\nAN_D "))
    rec = recipe_dir(repo_root, "ami", tmp_path / "rec")
    one_error_line(run(rec, s5, bnn_env), words, s5 / "data/lang/words.txt", "AND 3")


def test_error_model_pdfs_differ(shared_dir, repo_root, tmp_path, bnn_env):
    s5 = make_standin("swbd", shared_dir, tmp_path, n_train=4, n_test=2)
    mdl = s5 / "exp/tri4/final.mdl"
    mdl.unlink()
    mdl.symlink_to(shared_dir / "fixtures/kaldi_an4_s5/exp/tri1/final.mdl")   # 248 pdfs
    rec = recipe_dir(repo_root, "swbd", tmp_path / "rec")
    one_error_line(run(rec, s5, bnn_env), mdl, "248 pdfs", "336")


def test_error_wav_pipe_tool_missing(shared_dir, repo_root, tmp_path, bnn_env):
    s5 = make_standin("wsj", shared_dir, tmp_path, n_train=4, n_test=2)
    rec = recipe_dir(repo_root, "wsj", tmp_path / "rec")
    r = run(rec, s5, bnn_env, "--stage", "0", "--stop-stage", "0")
    assert r.returncode == 0, r.stderr[-3000:]
    wav = s5 / "data/test_eval92/wav.scp"
    lines = wav.read_text().splitlines()
    key = lines[0].split()[0]
    lines[0] = f"{key} sph2pipe -f wav -p -c 1 /corpora/wsj0/si_et_05/440/{key}.wv1 |"
    wav.write_text("\n".join(lines) + "\n")
    kaldi_root = (s5 / "../../..").resolve()
    # stage 1 (features) checks the Kaldi dir's wav.scp at its start ...
    err = one_error_line(run(rec, s5, bnn_env, "--stage", "1", "--stop-stage", "1"),
                         wav, key, "sph2pipe", kaldi_root / "tools/sph2pipe_v2.5")
    assert "KALDI_ROOT" in err
    assert not (rec / "data/test_eval92_fbank_40").exists()
    # ... and so does stage 0; a sph2pipe put where Kaldi's path.sh looks is found
    one_error_line(run(rec, s5, bnn_env), "sph2pipe")
    tool = kaldi_root / "tools/sph2pipe_v2.5/sph2pipe"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\nexit 1\n")
    tool.chmod(0o755)
    with pytest.raises(BnnError) as e:   # the tool is found; the .wv1 the pipe names is not
        dropin.check_wav_scp(str(wav), str(s5))
    assert f"{key}.wv1" in str(e.value) and "sph2pipe" not in str(e.value).split("audio file")[0]


# ----------------------------------------------------------------------------- helpers
def test_pipe_programs():
    f = dropin._pipe_programs
    assert f("sph2pipe -f wav -p -c 1 a.wv1") == ["sph2pipe"]
    assert f("LC_ALL=C sph2pipe -f wav x.sph | sox -t wav - -r 8000 -t wav -") == ["sph2pipe", "sox"]
    assert f("/k/tools/sph2pipe_v2.5/sph2pipe -f wav 'a b.wv1' |") == ["/k/tools/sph2pipe_v2.5/sph2pipe"]


@pytest.mark.parametrize("corpus,kset,expected", [
    ("wsj", "test_dev93", "exp/tri4b/decode_tgpr_dev93"),
    ("wsj", "test_eval92", "exp/tri4b/decode_tgpr_eval92"),
    ("ami", "ihm/eval", f"exp/ihm/tri3/decode_eval_{AMI_LM}"),
    ("swbd", "eval2000", "exp/tri4/decode_eval2000_sw1_tg"),
    ("swbd", "eval2000_swbd", ""),   # a subset Kaldi did not decode on its own
])
def test_find_kaldi_decode_dir(shared_dir, tmp_path, corpus, kset, expected):
    s5 = make_standin(corpus, shared_dir, tmp_path, n_train=2, n_test=2)
    graph = {"wsj": "exp/tri4b/graph_tgpr", "ami": f"exp/ihm/tri3/graph_{AMI_LM}",
             "swbd": "exp/tri4/graph_sw1_tg"}[corpus]
    got = dropin.find_kaldi_decode_dir(str(s5 / graph), kset)
    assert got == (str(s5 / expected) if expected else "")
    assert dropin.find_kaldi_decode_dir(str(s5 / graph), kset, f"{kset}:/x/y") == "/x/y"


# ----------------------------------------------------------------------------- without a corpus
@pytest.mark.parametrize("corpus,needles", [
    ("wsj", ["--kaldi-dir", "egs/wsj/s5", "--wsj0", "--wsj1", "--lexicon"]),
    ("ami", ["--kaldi-dir", "egs/ami/s5b", "--ami-dir", "--lexicon"]),
    ("swbd", ["--kaldi-dir", "egs/swbd/s5c", "--swbd-dir", "--eval2000-dir", "--lexicon"]),
])
def test_recipe_without_corpus_says_what_to_pass(corpus, needles, repo_root, tmp_path, bnn_env):
    rec = recipe_dir(repo_root, corpus, tmp_path)
    r = subprocess.run(["bash", "run.sh"], cwd=rec, env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and all(n in lines[0] for n in needles), r.stderr


# ----------------------------------------------------------------------------- lhotse data layer
def test_lhotse_export_reads_back(shared_dir, tmp_path):
    """lhotse manifests of real AN4 audio exported by bnn.corpora.lhotse_prep.export: a Kaldi data
    dir whose wav.scp our feature code reads sample-exact, transcripts and speakers kept."""
    from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet
    from bnn.corpora.lhotse_prep import export
    from bnn.feats.compute import iter_waves
    wavs = sorted((shared_dir / "corpora/an4/wav/an4_clstk/fash").glob("*.wav"))[:3]
    recs = [Recording.from_file(str(w), recording_id=w.stem) for w in wavs]
    sups = [SupervisionSegment(id=r.id, recording_id=r.id, start=0.0, duration=r.duration,
                               channel=0, text=f"WORD{i} TWO", speaker="fash")
            for i, r in enumerate(recs)]
    n = export(RecordingSet.from_recordings(recs), SupervisionSet.from_segments(sups),
               str(tmp_path / "d"))
    assert n == 3
    text = (tmp_path / "d/text").read_text().splitlines()
    assert [ln.split(None, 1)[1] for ln in text] == ["WORD0 TWO", "WORD1 TWO", "WORD2 TWO"]
    assert all(ln.split()[1] == "fash" for ln in (tmp_path / "d/utt2spk").read_text().splitlines())
    got = {u: x for u, _, x in iter_waves(f"scp:{tmp_path / 'd/wav.scp'}",
                                          str(tmp_path / "d/segments")
                                          if (tmp_path / "d/segments").exists() else None)}
    assert len(got) == 3
    ref = recs[0].load_audio()[0] * 32768.0
    key = [k for k in got if wavs[0].stem in k][0]
    assert got[key].shape[1] == ref.shape[0]
    assert abs(got[key][0] - ref).max() < 1.0


def test_cmudict_dict(tmp_path):
    from bnn.corpora.lhotse_prep import write_cmudict_dict
    lex = tmp_path / "cmudict"
    lex.write_text(";;; comment\nHELLO  HH AH0 L OW1\nHELLO(2)  HH EH0 L OW1\nWORLD  W ER1 L D\n"
                   "UNUSED  AH1\n")
    text = tmp_path / "text"
    text.write_text("u1 HELLO WORLD\nu2 HELLO MISSING <NOISE>\n")
    assert write_cmudict_dict(str(lex), [str(text)], str(tmp_path / "dict")) == (2, 1)
    lexicon = (tmp_path / "dict/lexicon.txt").read_text().splitlines()
    assert "HELLO HH AH L OW" in lexicon and "HELLO HH EH L OW" in lexicon
    assert "WORLD W ER L D" in lexicon and "<UNK> SPN" in lexicon and "<NOISE> NSN" in lexicon
    assert not any(ln.startswith("UNUSED") for ln in lexicon)
    assert (tmp_path / "dict/silence_phones.txt").read_text().split() == ["SIL", "SPN", "NSN"]
