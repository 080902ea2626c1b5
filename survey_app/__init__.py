"""The survey application and the ``csi`` command line (the composition root:
it may use both ``models`` and ``analysis``)."""
