"""`bnn-bench-decode`: see :mod:`bnn.decode.bench`."""
from bnn.decode.bench import bench_decode
from bnn.utils.cli import run_main


def main(argv=None):
    run_main(bench_decode, argv)


if __name__ == "__main__":
    main()
