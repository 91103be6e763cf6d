"""bnn-check-kaldi-dir: check a Kaldi s5 experiment before training on it (see bnn.kaldi.dropin).

Usage: bnn-check-kaldi-dir [options] <kaldi-dir>
e.g.: bnn-check-kaldi-dir --train-set train_yesno --test-sets test_yesno --ali-dir exp/mono0a_ali \
        --graph-dir exp/mono0a/graph_tgpr --data-out data ../shared/fixtures/kaldi_yesno_s5

Set, alignment, graph and lang paths are relative to <kaldi-dir> (defaults: Kaldi's WSJ s5).
Checks the alignment dir (final.mdl, ali.N.gz = num_jobs), the graph (words.txt = the lang's,
pdf count = the alignment model's) and every feats.scp archive; nothing is written into
<kaldi-dir>.  With --data-out the data dirs are copied to <data-out>/<set> with absolute scp
entries (wav.scp too: paths made absolute, pipes run from <kaldi-dir>).  --checks picks what is
checked (a recipe stage checks what it needs at its start): ali, graph, data, wav (every set's
wav.scp: audio files, and the tools of its pipes on PATH or in Kaldi's tool dirs).
Prints ``num_pdfs=N`` and ``cmvn_opts=...`` (apply-cmvn options as Kaldi used them) on
stdout; --write-cmvn-opts also writes the latter to a file.  --find-decode-dir SET prints
Kaldi's own GMM decode dir of SET next to the graph (find_kaldi_decode_dir).  --print-tool-dirs prints the
directories Kaldi's path.sh would add to PATH for wav.scp pipes (one line, ':'-separated).
"""
import os
import sys

from bnn.kaldi.dropin import WSJ_DEFAULTS, check_all, find_kaldi_decode_dir, kaldi_tool_dirs
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.fileio import atomic_write


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-check-kaldi-dir")
    p.add_argument("--train-set", default=WSJ_DEFAULTS["train_set"], help="data/<name> in the Kaldi dir")
    p.add_argument("--dev-set", default=WSJ_DEFAULTS["dev_set"], help="'' for none")
    p.add_argument("--test-sets", default=WSJ_DEFAULTS["test_sets"], help="space-separated")
    p.add_argument("--ali-dir", default=WSJ_DEFAULTS["ali_dir"])
    p.add_argument("--graph-dir", default=WSJ_DEFAULTS["graph_dir"])
    p.add_argument("--lang-dir", default=WSJ_DEFAULTS["lang_dir"], help="'' to skip the words.txt check")
    p.add_argument("--data-out", default="", help="write the data dirs here (absolute scp paths)")
    p.add_argument("--write-cmvn-opts", default="", help="file for the apply-cmvn options")
    p.add_argument("--checks", default="ali,graph,data",
                   help="comma-separated: ali, graph, data, wav")
    p.add_argument("--need-feats", default="true", choices=["true", "false"],
                   help="false: data dirs with only wav.scp (no feats.scp) are accepted")
    p.add_argument("--print-tool-dirs", action="store_true",
                   help="only print Kaldi's tool dirs for wav.scp pipes and exit")
    p.add_argument("--find-decode-dir", default="", metavar="SET",
                   help="only print Kaldi's GMM decode dir of SET for --graph-dir ('' if none)")
    p.add_argument("--kaldi-decode-dirs", default="", help="'<set>:<dir> ...' for --find-decode-dir")
    p.add_argument("kaldi_dir")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    if args.print_tool_dirs:
        print(":".join(kaldi_tool_dirs(args.kaldi_dir)))
        return 0
    if args.find_decode_dir:
        g = args.graph_dir if os.path.isabs(args.graph_dir) else os.path.join(args.kaldi_dir, args.graph_dir)
        print(find_kaldi_decode_dir(g, args.find_decode_dir, args.kaldi_decode_dirs))
        return 0
    info = check_all(args.kaldi_dir, train_set=args.train_set, dev_set=args.dev_set,
                     test_sets=args.test_sets.split(), ali_dir=args.ali_dir,
                     graph_dir=args.graph_dir, lang_dir=args.lang_dir,
                     data_out=args.data_out or None,
                     checks=[c for c in args.checks.split(",") if c],
                     need_feats=args.need_feats == "true")
    if args.write_cmvn_opts and info["cmvn_opts"] is not None:
        with atomic_write(args.write_cmvn_opts) as f:
            f.write(info["cmvn_opts"] + "\n")
    if info["num_pdfs"] is not None:
        print(f"num_pdfs={info['num_pdfs']}")
        print(f"cmvn_opts={info['cmvn_opts']}")
        print(f"cmvn_opts_file={info['cmvn_opts_file']}")
        print(f"ali_jobs={len(info['ali_files'])}")
    for s, n in info["num_utts"].items():
        print(f"imported {s}: {n} utterances")
    sys.stdout.flush()
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
