"""Alignment reading and the ali-to-pdf / ali-to-phones / analyze-counts / show-transitions /
hmm-info / copy-transition-model commands against Kaldi's outputs, and their error cases."""
import gzip
import shutil
import subprocess

import numpy as np
import pytest

from bnn.kaldi.alignments import (IntVectorWriter, ali_dir_files, check_alignment_length,
                                  iter_alignments, iter_alignments_with_file)
from bnn.kaldi.model_io import read_transition_model
from bnn.utils.errors import BnnError

MONO = "fixtures/kaldi_mono_digits"
MB = "fixtures/kaldi_outputs/mono_binary"
MT = "fixtures/kaldi_outputs/mono_tuples"


def _run_cli(module, argv):
    """Run ``bnn.bin.<module>.main(argv)`` in-process; returns the exit code."""
    import importlib
    mod = importlib.import_module(f"bnn.bin.{module}")
    with pytest.raises(SystemExit) as exc:
        mod.main([str(a) for a in argv])
    return exc.value.code


def _ark_text(path):
    return {p[0]: [int(x) for x in p[1:]] for p in (l.split() for l in open(path)) if p}


# ----------------------------------------------------------------------------- acceptance
def test_ali_to_pdf_full_mono_digits_stdout(shared_dir, bnn_env, tmp_path):
    d = shared_dir / MONO
    proc = subprocess.run(["bnn-ali-to-pdf", "final.mdl", "ark:ali.1", "ark,t:-"], cwd=d,
                          env=bnn_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2239
    pdfs = np.array([int(x) for line in lines for x in line.split()[1:]])
    assert pdfs.min() >= 0 and pdfs.max() < 33 and len(np.unique(pdfs)) == 33
    assert "Converted 2239 alignments" in proc.stderr
    # the first 50 utterances are the Kaldi ali-to-pdf fixture, byte for byte
    want = (shared_dir / MB / "ali.1.pdf.txt").read_text().splitlines()
    assert lines[:50] == want


@pytest.mark.parametrize("opts,fixture", [
    ([], "ali.1.phones.txt"),
    (["--per-frame=true"], "ali.1.phones_per_frame.txt"),
    (["--write-lengths=true"], "ali.1.phone_lengths.txt"),
])
def test_ali_to_phones_equals_kaldi(shared_dir, tmp_path, opts, fixture):
    out = tmp_path / "out.txt"
    src = f"ark:gunzip -c {shared_dir / MB / 'ali.1.gz'} |"
    assert _run_cli("ali_to_phones", opts + [shared_dir / MB / "final.mdl", src, f"ark,t:{out}"]) == 0
    assert out.read_bytes() == (shared_dir / MB / fixture).read_bytes()


def test_ali_to_pdf_binary_output_and_tuples(shared_dir, tmp_path):
    out = tmp_path / "pdf.ark"
    assert _run_cli("ali_to_pdf", [shared_dir / MT / "0.mdl", f"ark:{shared_dir / MT / 'ali.ark'}",
                                   f"ark:{out}"]) == 0
    got = {k: v.tolist() for k, v in iter_alignments(f"ark:{out}")}
    assert got == _ark_text(shared_dir / MT / "ali.pdf.txt")
    txt = tmp_path / "pdf.txt"
    assert _run_cli("ali_to_pdf", [shared_dir / MT / "0.text.mdl", f"ark:{shared_dir / MT / 'ali.ark'}",
                                   f"ark,t:{txt}"]) == 0
    assert txt.read_bytes() == (shared_dir / MT / "ali.pdf.txt").read_bytes()
    ph = tmp_path / "ph.txt"
    assert _run_cli("ali_to_phones", [shared_dir / MT / "0.mdl", f"ark:{shared_dir / MT / 'ali.ark'}",
                                      f"ark,t:{ph}"]) == 0
    assert ph.read_bytes() == (shared_dir / MT / "ali.phones.txt").read_bytes()


def test_analyze_counts_equals_kaldi(shared_dir, tmp_path, capsys):
    src = (f"ark:gunzip -c {shared_dir / MB / 'ali.1.gz'} |")
    pdf_ark = tmp_path / "pdf.ark"
    assert _run_cli("ali_to_pdf", [shared_dir / MB / "final.mdl", src, f"ark:{pdf_ark}"]) == 0
    txt, binf = tmp_path / "c.txt", tmp_path / "c.bin"
    assert _run_cli("analyze_counts", ["--binary=false", f"ark:{pdf_ark}", txt]) == 0
    assert _run_cli("analyze_counts", [f"ark:{pdf_ark}", binf]) == 0
    assert txt.read_bytes() == (shared_dir / MB / "pdf_counts.txt").read_bytes()
    assert binf.read_bytes() == (shared_dir / MB / "pdf_counts.bin.vec").read_bytes()
    counts = np.array(txt.read_text().strip()[1:-1].split(), dtype=float)
    frames = sum(len(a) for _, a in iter_alignments(src.replace(" |", "|")))
    assert len(counts) == 33 and counts.sum() == pytest.approx(frames + 0.5 * 33)
    # phones with the symbol table: counts file and the sorted table on stderr
    ph_ark = tmp_path / "ph.ark"
    assert _run_cli("ali_to_phones", ["--per-frame", shared_dir / MB / "final.mdl", src, f"ark:{ph_ark}"]) == 0
    capsys.readouterr()
    pc = tmp_path / "pc.txt"
    assert _run_cli("analyze_counts", ["--binary=false", f"--symbol-table={shared_dir / MONO / 'phones.txt'}",
                                       f"ark:{ph_ark}", pc]) == 0
    assert pc.read_bytes() == (shared_dir / MB / "phone_counts.txt").read_bytes()
    err = capsys.readouterr().err
    kaldi = (shared_dir / MB / "phone_counts.stderr.txt").read_text()
    table = kaldi[kaldi.index("### The sorted"):kaldi.index("#total")]
    table += [l for l in kaldi.splitlines() if l.startswith("#total")][0]
    assert table in err


def test_show_transitions_and_hmm_info_cli(shared_dir, tmp_path, capsys):
    capsys.readouterr()
    assert _run_cli("show_transitions", [shared_dir / MONO / "phones.txt", shared_dir / MONO / "final.mdl",
                                         shared_dir / MONO / "final.occs"]) == 0
    out = capsys.readouterr().out
    assert out == (shared_dir / MB / "show_transitions.txt").read_text()
    assert len({l.split("pdf = ")[1] for l in out.splitlines() if l.startswith("Transition-state")}) == 33
    assert _run_cli("hmm_info", [shared_dir / MT / "0.text.mdl"]) == 0
    assert capsys.readouterr().out == (shared_dir / MT / "hmm_info.txt").read_text()


def test_copy_transition_model_cli(shared_dir, tmp_path):
    for binary, fixture in (("true", "final.trans.mdl"), ("false", "final.trans.txt.mdl")):
        out = tmp_path / fixture
        assert _run_cli("copy_transition_model", [f"--binary={binary}", shared_dir / MONO / "final.mdl", out]) == 0
        assert out.read_bytes() == (shared_dir / MB / fixture).read_bytes()


# ----------------------------------------------------------------------------- ali dirs
def _make_ali_dir(shared_dir, tmp_path, nj=2):
    d = tmp_path / "mono_ali"
    d.mkdir()
    shutil.copy(shared_dir / MB / "final.mdl", d / "final.mdl")
    ali = list(iter_alignments(f"ark:{shared_dir / MB / 'ali.1.gz'}"))
    for j in range(nj):
        with IntVectorWriter(f"ark:| gzip -c > {d / f'ali.{j + 1}.gz'}") as w:
            for utt, a in ali[j::nj]:
                w.write(utt, a)
    (d / "num_jobs").write_text(f"{nj}\n")
    return d, dict(ali)


def test_ali_dir_and_glob_sources(shared_dir, tmp_path):
    d, ali = _make_ali_dir(shared_dir, tmp_path)
    assert [p.split("/")[-1] for p in ali_dir_files(str(d))] == ["ali.1.gz", "ali.2.gz"]
    got = {u: a.tolist() for u, a in iter_alignments(str(d))}
    assert got == {u: a.tolist() for u, a in ali.items()}
    got2 = {u: a.tolist() for u, a in iter_alignments(f"ark:gunzip -c {d}/ali.*.gz|")}
    assert got2 == got
    out = tmp_path / "pdf.txt"
    assert _run_cli("ali_to_pdf", [d / "final.mdl", d, f"ark,t:{out}"]) == 0
    assert _ark_text(out) == {**_ark_text(shared_dir / MB / "ali.1.pdf.txt")}


def test_num_jobs_disagreeing_with_files(shared_dir, tmp_path):
    d, _ = _make_ali_dir(shared_dir, tmp_path)
    (d / "num_jobs").write_text("3\n")
    with pytest.raises(BnnError, match=r"num_jobs: num_jobs is 3 but the directory has 2 ali\.N\.gz files \(missing ali\.3\.gz\)$"):
        list(iter_alignments(str(d)))
    (d / "num_jobs").write_text("1\n")
    with pytest.raises(BnnError, match=r"unexpected ali\.2\.gz"):
        list(iter_alignments(str(d)))


# ----------------------------------------------------------------------------- errors
def test_tid_beyond_model_names_file_and_utterance(shared_dir, tmp_path):
    bad = tmp_path / "bad.ark"
    with IntVectorWriter(f"ark:{bad}") as w:
        w.write("utt_ok", [1, 2])
        w.write("utt_bad", [1, 2, 70, 3])
    trans = read_transition_model(shared_dir / MB / "final.mdl")
    with pytest.raises(BnnError, match=r"bad\.ark: utterance utt_bad: transition-id 70 is out of range for the model \(it has transition-ids 1\.\.69\)$"):
        list(iter_alignments(f"ark:{bad}", trans))
    assert _run_cli("ali_to_pdf", [shared_dir / MB / "final.mdl", f"ark:{bad}", f"ark,t:{tmp_path / 'o'}"]) == 1
    assert not (tmp_path / "o").exists()  # no partial output


def test_truncated_gzip_names_the_file(shared_dir, tmp_path, bnn_env):
    data = (shared_dir / MB / "ali.1.gz").read_bytes()
    trunc = tmp_path / "ali.1.gz"
    trunc.write_bytes(data[:len(data) // 2])
    with pytest.raises(BnnError, match=r"ali\.1\.gz: truncated or corrupt gzip after utterance \S+ \("):
        list(iter_alignments(f"ark:gunzip -c {trunc}|"))
    with pytest.raises(BnnError, match=r"ali\.1\.gz: truncated or corrupt gzip"):
        list(iter_alignments(str(trunc)))
    # through a generic shell pipe the command's failure is reported with gzip's message
    with pytest.raises(BnnError, match=r"ali\.1\.gz \| gunzip -c \|: command failed with exit code 1: .*unexpected end"):
        list(iter_alignments(f"ark:cat {trunc} | gunzip -c |"))
    proc = subprocess.run(["bnn-ali-to-pdf", str(shared_dir / MB / "final.mdl"),
                           f"ark:gunzip -c {trunc}|", "ark,t:-"],
                          env=bnn_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()[-1]
    assert err.startswith("bnn-ali-to-pdf: ERROR: ") and str(trunc) in err


def test_corrupt_archive(tmp_path):
    bad = tmp_path / "corrupt.ark"
    bad.write_bytes(b"utt1 \0B\x04\x02\x00\x00\x00\x04\x01\x00\x00\x00\x08\x02")
    with pytest.raises(BnnError, match=r"corrupt\.ark: truncated archive after utterance utt1"):
        list(iter_alignments(f"ark:{bad}"))
    bad.write_bytes(b"utt1 \0BFV \x04\x01\x00\x00\x00\x00\x00\x00\x00")
    with pytest.raises(BnnError, match=r"corrupt\.ark: utterance utt1: not an int32 vector"):
        list(iter_alignments(f"ark:{bad}"))


def test_not_a_model_cli(tmp_path, shared_dir):
    notmodel = tmp_path / "final.mdl"
    notmodel.write_text("<Nnet> foo\n")
    assert _run_cli("ali_to_pdf", [notmodel, f"ark:{shared_dir / MT / 'ali.ark'}", "ark,t:-"]) == 1
    assert _run_cli("show_transitions", [shared_dir / MONO / "phones.txt", notmodel]) == 1


def test_not_a_model_message(tmp_path, shared_dir, capsys):
    notmodel = tmp_path / "final.mdl"
    notmodel.write_text("<Nnet> foo\n")
    capsys.readouterr()
    _run_cli("hmm_info", [notmodel])
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(f": ERROR: {notmodel}: not a Kaldi model (expected <TransitionModel>, found <Nnet>)")


def test_alignment_length_check(shared_dir):
    check_alignment_length(100, 100, "u1", "ali.1.gz")
    check_alignment_length(100, 101, "u1", "ali.1.gz", tolerance=1)
    with pytest.raises(BnnError, match=r"^ali\.1\.gz: utterance u1: alignment has 98 frames but the features have 100$"):
        check_alignment_length(98, 100, "u1", "ali.1.gz")


def test_iter_with_file_names_source(shared_dir, tmp_path):
    d, _ = _make_ali_dir(shared_dir, tmp_path)
    names = {f.split("/")[-1] for _, _, f in iter_alignments_with_file(str(d))}
    assert names == {"ali.1.gz", "ali.2.gz"}
    with gzip.open(d / "ali.1.gz") as f:
        assert f.read(5)  # the files we wrote are real gzip archives


def test_copy_int_vector_equals_kaldi_text(shared_dir, tmp_path):
    out = tmp_path / "tids.txt"
    assert _run_cli("copy_int_vector", [f"ark:gunzip -c {shared_dir / MB / 'ali.1.gz'}|", f"ark,t:{out}"]) == 0
    assert out.read_bytes() == (shared_dir / MB / "ali.1.tids.txt").read_bytes()
    back = tmp_path / "tids.ark"
    assert _run_cli("copy_int_vector", [f"ark:{out}", f"ark:| gzip -n -c > {back}"]) == 0
    # the binary archive is Kaldi's byte for byte (compare uncompressed: gzip versions may differ)
    assert gzip.decompress(back.read_bytes()) == gzip.decompress((shared_dir / MB / "ali.1.gz").read_bytes())


def test_yesno_kaldi_ali_dir_starts_and_ends_in_silence(shared_dir):
    d = shared_dir / "fixtures/kaldi_yesno_s5/exp/mono0a_ali"
    trans = read_transition_model(d / "final.mdl")
    assert trans.phones == [1, 2, 3]
    n = 0
    for utt, ali in iter_alignments(str(d), trans):
        phones = trans.map_phones(ali)
        assert phones[0] == 1 and phones[-1] == 1, utt  # SIL = 1
        n += 1
    assert n == 30
