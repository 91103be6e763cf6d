"""`bnn-lattice-best-path`: see :mod:`bnn.decode.lattice_tools`."""
from bnn.decode.lattice_tools import lattice_best_path
from bnn.utils.cli import run_main


def main(argv=None):
    run_main(lattice_best_path, argv)


if __name__ == "__main__":
    main()
