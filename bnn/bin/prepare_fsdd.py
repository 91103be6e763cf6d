"""bnn-prepare-fsdd: the connected-digit corpus built from FSDD (``bnn.corpora.fsdd``).

e.g.: bnn-prepare-fsdd --corpus-dir ../../../shared/corpora/fsdd/recordings --wav-dir corpus data
writes corpus/{train,dev,test}/*.wav and data/{train,dev,test} (wav.scp, text, utt2spk,
spk2utt, utt2dur), then prints the corpus statistics.
"""
from bnn.corpora import fsdd
from bnn.corpora.stats import data_dir_stats, format_stats
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError


def _main(argv):
    p = make_parser(__doc__.splitlines()[0], prog="bnn-prepare-fsdd")
    p.add_argument("--corpus-dir", default="recordings",
                   help="FSDD recordings/ directory ({digit}_{speaker}_{take}.wav)")
    p.add_argument("--download-dir", default="downloads",
                   help="where to download and extract the FSDD archive when --corpus-dir "
                        "is absent")
    p.add_argument("--download", default="true", choices=["true", "false"],
                   help="download FSDD when --corpus-dir does not hold it")
    p.add_argument("--wav-dir", default="corpus", help="where the utterance wavs are written")
    p.add_argument("--seed", type=int, default=fsdd.FsddOptions.seed)
    p.add_argument("--level-db", type=float, default=fsdd.FsddOptions.level_db,
                   help="RMS level (dBFS) every recording is normalised to")
    p.add_argument("--noise-db", type=float, default=fsdd.FsddOptions.noise_db,
                   help="level of the noise bed relative to --level-db (dB)")
    p.add_argument("--sets", default=",".join(fsdd.SETS), help="comma-separated sets to build")
    for name, (_, _, n, _) in fsdd.SETS.items():
        p.add_argument(f"--num-utts-{name}", type=int, default=n,
                       help=f"number of {name} utterances")
    p.add_argument("data_dir", help="output: parent of the data dirs, one per set")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    sets = [s for s in args.sets.split(",") if s]
    for s in sets:
        if s not in fsdd.SETS:
            raise BnnError(f"--sets: unknown set {s!r} (expected {', '.join(fsdd.SETS)})")
    rec_dir = fsdd.find_fsdd(args.corpus_dir, args.download_dir, args.download == "true")
    opts = fsdd.FsddOptions(seed=args.seed, level_db=args.level_db, noise_db=args.noise_db)
    num_utts = {s: getattr(args, f"num_utts_{s}") for s in sets}
    dirs = fsdd.prepare_fsdd(rec_dir, args.data_dir, args.wav_dir, sets, num_utts, opts)
    print(format_stats([data_dir_stats(d, name) for name, d in dirs.items()]))
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
