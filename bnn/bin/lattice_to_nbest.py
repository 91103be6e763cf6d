"""`bnn-lattice-to-nbest`: see :mod:`bnn.decode.lattice_tools`."""
from bnn.decode.lattice_tools import lattice_to_nbest
from bnn.utils.cli import run_main


def main(argv=None):
    run_main(lattice_to_nbest, argv)


if __name__ == "__main__":
    main()
