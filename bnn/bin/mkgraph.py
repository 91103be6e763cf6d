"""`bnn-mkgraph [--transition-scale 1.0] [--self-loop-scale 0.1] <lang> <model-dir> <graph-dir>`:
see :mod:`bnn.decode.graph`."""
from bnn.decode.graph import mkgraph_main
from bnn.utils.cli import run_main


def main(argv=None):
    run_main(mkgraph_main, argv)


if __name__ == "__main__":
    main()
