"""`bnn-lattice-prune`: see :mod:`bnn.decode.lattice_tools`."""
from bnn.decode.lattice_tools import lattice_prune
from bnn.utils.cli import run_main


def main(argv=None):
    run_main(lattice_prune, argv)


if __name__ == "__main__":
    main()
