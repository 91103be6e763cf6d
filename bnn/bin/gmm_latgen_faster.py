"""`bnn-gmm-latgen-faster`: see :mod:`bnn.decode.latgen`."""
from bnn.decode.latgen import gmm_latgen_faster
from bnn.utils.cli import run_main


def main(argv=None):
    run_main(gmm_latgen_faster, argv)


if __name__ == "__main__":
    main()
