"""`bnn-lattice-add-penalty`: see :mod:`bnn.decode.lattice_tools`."""
from bnn.decode.lattice_tools import lattice_add_penalty
from bnn.utils.cli import run_main


def main(argv=None):
    run_main(lattice_add_penalty, argv)


if __name__ == "__main__":
    main()
