"""bnn-forward: network log-likelihoods as a Kaldi archive (Kaldi's nnet-forward)."""
from bnn.bin._feats_common import add_bool
from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__)
    p.add_argument("--model", "--model-dir", dest="model", required=True,
                   help="model dir (with final.pt) or a .pt file")
    p.add_argument("--engine", default="torch", choices=["torch", "packed"],
                   help="torch: float reference; packed: bit-packed XOR-popcount engine")
    add_bool(p, "--apply-log", False, "output log-posteriors")
    add_bool(p, "--no-softmax", False, "output pre-softmax activations")
    p.add_argument("--class-frame-counts", default="",
                   help="pdf counts (Kaldi vector) whose log-prior is subtracted")
    p.add_argument("--prior-scale", type=float, default=1.0)
    p.add_argument("--prior-floor", type=float, default=1e-10)
    p.add_argument("--data-dir", default=None, help="data dir whose cmvn.scp/utt2spk to use")
    p.add_argument("--cmvn", default=None, help="CMVN stats rspecifier (overrides --data-dir)")
    p.add_argument("--utt2spk", default=None, help="utt2spk file for --cmvn")
    p.add_argument("--real-layers", default="fp32", choices=["fp32", "int8"],
                   help="packed engine: its float (real input/output) layers in fp32 or int8 "
                   "(torch dynamic quantization on oneDNN)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="cuda: run the network on the GPU (packed: bnn.infer.gpu, Triton kernel "
                   "when triton is installed)")
    p.add_argument("--batch-frames", type=int, default=4096)
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("feats_rspecifier")
    p.add_argument("wspecifier")
    return p


def main(argv=None):
    def _run(argv):
        args = get_parser().parse_args(argv)
        setup_logging(args.verbose)
        from bnn.forward import forward_from_args
        forward_from_args(args)
    run_main(_run, argv)


if __name__ == "__main__":
    main()
