"""`bnn-latgen-faster-mapped`: see :mod:`bnn.decode.latgen`."""
from bnn.decode.latgen import latgen_faster_mapped
from bnn.utils.cli import run_main


def main(argv=None):
    run_main(latgen_faster_mapped, argv)


if __name__ == "__main__":
    main()
