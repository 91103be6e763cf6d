"""`bnn-lattice-scale`: see :mod:`bnn.decode.lattice_tools`."""
from bnn.decode.lattice_tools import lattice_scale
from bnn.utils.cli import run_main


def main(argv=None):
    run_main(lattice_scale, argv)


if __name__ == "__main__":
    main()
