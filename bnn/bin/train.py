"""bnn-train: frame-level training of a (binary) DNN/CNN acoustic model on pdf targets."""
from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__)
    p.add_argument("--config", required=True, help="network config (conf/nnet/*.yaml)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config value, e.g. model.hidden_dim=256 (repeatable)")
    p.add_argument("--merge", action="append", metavar="YAML",
                   help="deep-merge this YAML into the config (before --set; repeatable)")
    p.add_argument("--train-data", required=True, help="training data dir (feats.scp, cmvn.scp)")
    p.add_argument("--train-targets", required=True,
                   help="scp of per-utterance pdf-id vectors (bnn-ali-to-pdf ... ark,scp:)")
    p.add_argument("--num-pdfs", type=int, required=True,
                   help="network output size: the alignment model's pdf count")
    p.add_argument("--cv-data", default=None, help="held-out data dir (default: --cv-percent)")
    p.add_argument("--cv-targets", default=None, help="pdf targets of --cv-data")
    p.add_argument("--cv-percent", type=float, default=10.0,
                   help="percent of training utterances held out when no --cv-data")
    p.add_argument("--cmvn-opts", default="--norm-means=true --norm-vars=false")
    p.add_argument("--cmvn-opts-file", default=None,
                   help="read --cmvn-opts from this file (Kaldi's cmvn_opts)")
    p.add_argument("--delta-order", type=int, default=0)
    p.add_argument("--splice", type=int, default=5, help="splice +-N frames")
    p.add_argument("--init-from", default=None, help="initialise from this final.pt")
    p.add_argument("--teacher", default=None, help="teacher final.pt for knowledge distillation")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: config or 777)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--num-threads", type=int, default=1, help="torch intra-op threads on CPU")
    p.add_argument("dir", help="output model dir, e.g. exp/dnn")
    return p


def main(argv=None):
    def _run(argv):
        args = get_parser().parse_args(argv)
        setup_logging(args.verbose)
        from bnn.train.driver import train_from_args
        train_from_args(args)
    run_main(_run, argv)


if __name__ == "__main__":
    main()
