"""The toolkit's error type.

Every error a user can cause (bad input file, mismatched dimensions, missing utterance) is raised
as :class:`BnnError` with a one-line message that names the file (and utterance) and says what is
wrong.  Command-line wrappers in ``bnn/bin`` print it as ``<program>: <message>`` and exit 1.
"""


class BnnError(Exception):
    """A user-facing error: ``str(err)`` is the one-line message shown to the user."""
